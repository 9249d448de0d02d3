"""SIPp scenario text shared by the benches that place citizens' calls with SIPp."""

from __future__ import annotations

# A citizen's call as far as the ACK: the INVITE (G.711 A-law, RFC 2833 DTMF) and the ACK
# of its 200 OK, sent along the answer's Record-Route (the SIP edge's) if it has one, else
# to its Contact. ``{name}`` is where the scenario's name goes.
CALL_OPENING = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="{name}">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Warga" <sip:08[call_number]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: sip:08[call_number]@[local_ip]:[local_port]
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true" rrs="true"/>
  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
[routes]
From: "Warga" <sip:08[call_number]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: sip:08[call_number]@[local_ip]:[local_port]
Max-Forwards: 70
Content-Length: 0
]]></send>
"""


def scenario(name: str, rest: str) -> str:
    """A whole scenario: the call's opening, then ``rest`` (what happens after the ACK,
    ending with ``</scenario>``)."""
    return CALL_OPENING.replace("{name}", name) + rest
