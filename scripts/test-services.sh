#!/usr/bin/env bash
# Health of each service: GET /readyz on its port from config (or env
# OMS_HTTP_PORT_<SERVICE>). Exit 0 only when every service is ready.
set -uo pipefail
cd "$(dirname "$0")/.."
CONFIG=${OMS_CONFIG:-configs/config.yaml}
declare -A default_port=([oms-server]=9101 [oms-core]=9102 [router]=9103 [binance-spot]=9104 [binance-futures]=9105 [archiver]=9106)
fail=0
printf "%-16s %-6s %-8s %s\n" SERVICE PORT STATUS DETAIL
for svc in oms-core oms-server router binance-spot binance-futures archiver; do
  port=$(sed -n "s/^ *$svc: *{ *http_port: *\([0-9]*\).*/\1/p" "$CONFIG" | head -n1)
  env_name="OMS_HTTP_PORT_$(echo "$svc" | tr 'a-z-' 'A-Z_')"
  port=${!env_name:-${port:-${default_port[$svc]}}}
  body=$(curl -s -m 2 -w '\n%{http_code}' "http://127.0.0.1:$port/readyz" 2>/dev/null)
  code=$(tail -n1 <<<"$body"); detail=$(head -n -1 <<<"$body" | tr '\n' ';')
  if [ "$code" = 200 ]; then st=ready; else st=DOWN; fail=1; fi
  printf "%-16s %-6s %-8s %s\n" "$svc" "$port" "$st" "${detail:-no answer}"
done
exit $fail
