"""Builder of a project whose dataset lives on a cloud-versioned DVC remote.

Such a remote (`version_aware = true`, S3/GCS/Azure buckets with object versioning)
makes `dvc push` rewrite the `.dvc` file: the directory's top-level `md5` gives way
to a `files:` list with each file's md5, size and, per remote, its etag and version
ID. No bucket is reachable here, so the push's last step is done with DVC's own code:
the tree gets the metadata the remote returns and the stage is dumped the way
`dvc.repo.worktree.update_worktree_stages` dumps it after a push.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.repo import TmpRepo

REMOTE = "cloud"
REMOTE_URL = "s3://ml-datasets/cats-vs-dogs"

IMAGES = {
    "data/images/cat/001.txt": "whiskers\n",
    "data/images/cat/002.txt": "tabby cat\n",
    "data/images/dog/001.txt": "labrador\n",
}

TRAIN = """\
import json, pathlib, sys
files = sorted(p for p in pathlib.Path("data/images").rglob("*") if p.is_file())
labels = sorted({p.parent.name for p in files})
print(f"{len(files)} images, {len(labels)} classes")
json.dump({"images": len(files), "classes": len(labels), "bytes": sum(p.stat().st_size for p in files)},
          open("metrics.json", "w"))
"""

_PUSHED = """\
import json, os, sys
from dvc.repo import Repo
from dvc_data.hashfile.tree import Tree

path, remote, versions = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
with Repo(".") as repo:
    (stage,) = repo.stage.collect(f"{path}.dvc")
    out = stage.outs[0]
    pushed = Tree()
    for key, meta, hash_info in out.get_obj():
        rel = "/".join(key)
        meta.size = os.path.getsize(os.path.join(path, *key))
        meta.version_id = versions[rel]
        meta.etag = hash_info.value
        meta.remote = remote
        pushed.add(key, meta, hash_info)
    pushed.digest(with_meta=True)
    out.obj, out.hash_info = pushed, pushed.hash_info
    out.meta.remote = remote
    stage.dump(with_files=True, update_pipeline=False)
    print(pushed.hash_info.value)
"""


def build(repo: TmpRepo) -> str:
    """Data, remote config and a training script, committed; DVC's `.dir` hash of the data."""
    repo.gen({**IMAGES, "train.py": TRAIN})
    repo.dvc("remote", "add", "-d", REMOTE, REMOTE_URL)
    repo.dvc("remote", "modify", REMOTE, "version_aware", "true")
    digest = publish(repo, dict.fromkeys(IMAGES, "v1"))
    repo.commit("cats and dogs on the versioned bucket")
    return digest


def publish(repo: TmpRepo, versions: dict[str, str]) -> str:
    """`dvc add` then a push to the versioned remote; `versions`: file -> version-ID tag.

    Returns the `.dir` hash DVC gives the directory's tree.
    """
    repo.dvc("add", "-q", "data/images")
    ids = {
        rel.removeprefix("data/images/"): hashlib.sha256(f"{rel}@{tag}".encode()).hexdigest()[:32]
        for rel, tag in versions.items()
    }
    pushed = subprocess.run(
        [sys.executable, "-c", _PUSHED, "data/images", REMOTE, json.dumps(ids)],
        cwd=repo.root,
        check=True,
        capture_output=True,
        text=True,
    )
    repo.git("add", "data/images.dvc", "data/.gitignore")
    return pushed.stdout.strip()
