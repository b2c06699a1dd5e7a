"""Acts as an OAuth2 client-credentials caller with requests-oauthlib, the library many
senders use: fetch a token (client authenticated by HTTP Basic), then call a trigger.

usage: oauth_call.py BASE_URL CLIENT_ID CLIENT_SECRET TRIGGER_PATH
prints one JSON line: the token answer's type and lifetime, the call's status and body."""

import json
import os
import sys

# The test server listens on loopback over plain HTTP.
os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"

from oauthlib.oauth2 import BackendApplicationClient  # noqa: E402
from requests_oauthlib import OAuth2Session  # noqa: E402

base, client_id, secret, path = sys.argv[1:5]
session = OAuth2Session(client=BackendApplicationClient(client_id=client_id))
token = session.fetch_token(
    token_url=f"{base}/oauth/token", client_id=client_id, client_secret=secret, timeout=10
)
resp = session.post(f"{base}/t/{path}", json={"hello": "world"}, timeout=10)
print(json.dumps({
    "token_type": token["token_type"],
    "expires_in": token["expires_in"],
    "status": resp.status_code,
    "body": resp.json(),
}))
