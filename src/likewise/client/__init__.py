"""`likewise.Client`: a likewise server over HTTP, with the embedded Engine's face.

httpx is imported when a Client is made, not with `likewise`.
"""

from likewise.client.client import Client

__all__ = ["Client"]
