#!/usr/bin/env bash
# The overlay on one machine, by hand: a coordinator, a relay, a connector in front of a local HTTP
# service, and an engineer node with a SOCKS5 proxy; then curl through the overlay. Every step is
# what an operator runs in production, on loopback. Run from the repository after `npm ci`.
# Usage: bash docs/quickstart.sh [WORKDIR]   (stops everything it started on exit)
set -euo pipefail
W=${1:-$(mktemp -d)}
mkdir -p "$W"
SP="node $(cd "$(dirname "$0")/.." && pwd)/bin/sallyport.js"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
cd "$W"

# 1. The coordinator (vendor side). It prints its channel key, TLS fingerprint and relay trust key.
$SP coordinator --data coord --suffix byoc.example.com --listen 127.0.0.1:8443 \
  --relay local-1=https://127.0.0.1:8444,stun=3478 >coord.log 2>&1 &
pids+=($!)
until grep -q 'relay trust key' coord.log; do sleep 0.2; done
CHANNEL_KEY=$(awk '/channel key/ {print $NF}' coord.log)
TRUST_KEY=$(awk '/relay trust key/ {print $NF}' coord.log)

# 2. A relay with its own TLS certificate, trusting the coordinator's token-signing key.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout relay.key -out relay.crt \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -days 30 2>/dev/null
$SP relay --listen 127.0.0.1:8444 --tls-cert relay.crt --tls-key relay.key --trust-key "$TRUST_KEY" \
  --region local-1 --key-file relay-node.key --stun-port 3478 >relay.log 2>&1 &
pids+=($!)
cat coord/tls/cert.pem relay.crt >trust.pem

# 3. The administrator: a deployment, a connector key, a user with a key for her machine, a grant.
export SALLYPORT_SERVER=https://127.0.0.1:8443 SALLYPORT_CA=$W/coord/tls/cert.pem
export SALLYPORT_TOKEN=$(SALLYPORT_PASSWORD=$(cat coord/initial-admin-password) $SP admin login --user admin)
$SP admin deployments create acme-prod --region us-east-1 --cloud aws
CONNECTOR_KEY=$($SP admin keys create --deployment acme-prod --expires 1h)
echo 'correct horse battery staple' | $SP admin users create alice
ENGINEER_KEY=$($SP admin keys create --user alice --expires 1h)
$SP admin grants create --user alice --deployment acme-prod --service web --expires 1h

# 4. The customer side: an internal HTTP service and the connector in front of it (it dials out only).
#    tls=passthrough, written: the router pipes this plain web server's bytes unfiltered (logged at
#    warn, marked UNFILTERED in 'sallyport status'); real services use tls=terminate or a target kind.
mkdir -p www && head -c 8000000 /dev/urandom >www/big
(cd www && exec python3 -m http.server 18080 --bind 127.0.0.1 >../www.log 2>&1) &
pids+=($!)
SALLYPORT_PREAUTH_KEY=$CONNECTOR_KEY $SP agent --state conn --coordinator https://127.0.0.1:8443 \
  --coordinator-key "$CHANNEL_KEY" --ca trust.pem --name conn-1 --serve web=127.0.0.1:18080,kind=http,tls=passthrough >conn.log 2>&1 &
pids+=($!)

# 5. The engineer's machine: an agent with a SOCKS5 proxy that resolves tailnet names.
SALLYPORT_PREAUTH_KEY=$ENGINEER_KEY $SP agent --state eng --coordinator https://127.0.0.1:8443 \
  --coordinator-key "$CHANNEL_KEY" --ca trust.pem --name alice-laptop --kind engineer \
  --socks5 127.0.0.1:1055 >eng.log 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do $SP status --state eng --json 2>/dev/null | tr -d ' \n' | grep -q '"peers":\[{' && break; sleep 0.2; done

# 6. Through the overlay, byte-exact.
curl -sS --socks5-hostname 127.0.0.1:1055 http://web.acme-prod.us-east-1.aws.byoc.example.com/big -o got
sha256sum www/big got
$SP status --state eng
