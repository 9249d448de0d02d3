#!/bin/sh
# lapor-asterisk-officers: after an officer was added to (or removed from) the agents
# file (LAPOR_AGENTS_FILE), render their SIP accounts again and reload PJSIP. Calls in
# progress stay up; a new officer's phone can register at once (docs/operations.md).
set -eu

TEMPLATES=/opt/lapor/asterisk_conf
ETC=/etc/asterisk

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
PYTHONPATH=/opt/lapor/lib python3 "$TEMPLATES/render.py" "$TEMPLATES" "$staging" pjsip_agents.conf >/dev/null
install -o asterisk -g asterisk -m 0600 "$staging/pjsip_agents.conf" "$ETC/pjsip_agents.conf"
asterisk -rx "module reload res_pjsip.so"
