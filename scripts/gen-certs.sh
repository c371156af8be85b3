#!/usr/bin/env bash
# Makes the TLS material for agentwatchd's TCP listeners (metrics over
# mTLS, the gRPC API) with openssl: a CA, a server certificate named
# "agentwatch" (clients check that name: --tls-server-name agentwatch,
# ServiceMonitor serverName) and a client certificate for the CLI and
# Prometheus. Usage: scripts/gen-certs.sh OUTDIR [EXTRA_SAN ...]
# e.g. scripts/gen-certs.sh ./tls IP:10.0.0.5 DNS:node-a.example
# Then, for the DaemonSet:
#   kubectl -n agentwatch create secret generic agentwatch-tls \
#     --from-file=ca.crt=OUTDIR/ca.crt --from-file=tls.crt=OUTDIR/server.crt \
#     --from-file=tls.key=OUTDIR/server.key
#   kubectl -n agentwatch create secret generic agentwatch-scrape-tls \
#     --from-file=ca.crt=OUTDIR/ca.crt --from-file=tls.crt=OUTDIR/client.crt \
#     --from-file=tls.key=OUTDIR/client.key
set -euo pipefail
out="${1:?usage: gen-certs.sh OUTDIR [EXTRA_SAN ...]}"
shift
san="DNS:agentwatch,DNS:localhost,IP:127.0.0.1,IP:::1"
for extra in "$@"; do san="$san,$extra"; done
mkdir -p "$out"
umask 077
days=825
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" \
  -subj "/CN=agentwatch CA" -keyout "$out/ca.key" -out "$out/ca.crt" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  2>/dev/null
issue() {  # name cn usage san
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
    -keyout "$out/$1.key" -out "$out/$1.csr" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n%s' \
    "$3" "${4:+subjectAltName=$4}" > "$out/$1.ext"
  openssl x509 -req -in "$out/$1.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
    -days "$days" -extfile "$out/$1.ext" -out "$out/$1.crt" 2>/dev/null
  rm -f "$out/$1.csr" "$out/$1.ext"
}
issue server agentwatch serverAuth "$san"
issue client agentwatch-client clientAuth ""
rm -f "$out/ca.srl"
echo "gen-certs: $out/{ca,server,client}.{crt,key}"
