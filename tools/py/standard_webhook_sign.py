"""Signs a message with the standardwebhooks library (the reference implementation senders
use) and prints the `webhook-signature` header value.

usage: standard_webhook_sign.py SECRET MESSAGE_ID UNIX_TIMESTAMP BODY"""

import sys
from datetime import datetime, timezone

from standardwebhooks.webhooks import Webhook

secret, msg_id, ts, body = sys.argv[1:5]
print(Webhook(secret).sign(msg_id, datetime.fromtimestamp(int(ts), tz=timezone.utc), body))
