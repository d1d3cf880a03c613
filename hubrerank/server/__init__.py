"""The embedded Hugging Face Hub-compatible server: model and dataset repos on a local data dir.

``HubServer(data_dir, users=[UserSpec(...)]).start()`` serves the routes huggingface_hub and
datasets use (repos, commits, LFS, branches, tags, downloads) so everything hubrerank does works
offline and in tests. ``hubrerank hub serve`` runs it in the foreground.
"""

from hubrerank.server.auth import UserSpec, ensure_local_user, parse_user
from hubrerank.server.runner import HubServer

__all__ = ["HubServer", "UserSpec", "ensure_local_user", "parse_user"]
