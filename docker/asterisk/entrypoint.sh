#!/bin/sh
# Render the config templates from the environment (LAPOR_*, LAPOR_*_FILE secrets,
# LAPOR_AGENTS_FILE), then run Asterisk in the foreground as the asterisk user.
# A missing value (e.g. LAPOR_AMI_COLLECTOR_SECRET) stops the container with the reason.
set -eu

TEMPLATES=/opt/lapor/asterisk_conf
ETC=/etc/asterisk

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
if ! PYTHONPATH=/opt/lapor/lib python3 "$TEMPLATES/render.py" "$TEMPLATES" "$staging" >/dev/null; then
    echo "lapor-asterisk: cannot render the Asterisk configuration (see above); not starting" >&2
    exit 1
fi
# Replace the whole config so nothing stale from a previous start survives.
find "$ETC" -mindepth 1 -delete
cp -p "$staging"/*.conf "$ETC"/
rm -rf "$staging"
trap - EXIT

# Classic IVR mode: the per-call AGI scripts read their settings from
# $AST_CONFIG_DIR/lapor-ivr.env (ivr/settings.py), which the wipe above removed. Write it
# again from this container's LAPOR_IVR_* variables (compose gives the ivr service's
# spool, node id, API and token file), readable by the asterisk user only.
env | grep '^LAPOR_IVR_' >"$ETC/lapor-ivr.env" || true
chmod 0640 "$ETC/lapor-ivr.env"

chown -R asterisk:asterisk "$ETC"
chmod 0750 "$ETC"
# Volumes may be created root-owned; Asterisk writes recordings, queue_log, its logs and
# astdb, and the classic AGI scripts the IVR's spool.
spool=${LAPOR_IVR_SPOOL_DIR:-/var/spool/lapor-ivr}
for dir in /var/spool/asterisk/lapor /var/log/asterisk /var/run/asterisk /var/lib/asterisk "$spool"; do
    mkdir -p "$dir"
    chown asterisk:asterisk "$dir"
done

exec asterisk -f -U asterisk -G asterisk "$@"
