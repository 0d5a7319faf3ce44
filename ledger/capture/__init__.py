"""What a run is made of, taken before and after it: code, data, environment, params, metrics, outputs."""
