# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Auth strategies the transport applies to every attempt of a request.

- Signer: a per-attempt signature (Huawei SDK-HMAC-SHA256, Alibaba V3, NAVER v2). Each attempt
  is signed afresh, so a retry after a long Retry-After never carries a stale time stamp.
- TokenLogin: a header from a login (Huawei IAM); a 401 answer logs in again, once.
- Digest: HTTP Digest (RFC 7616, qop=auth, the strongest of SHA-512-256, SHA-256 and MD5 offered). The 401 challenge and the answer
  to it are one attempt for the transport (counted and logged once); later requests reuse the
  challenge with an increasing nonce count, so a list of pages costs one extra round trip.

The transport calls apply(prepared) before each send, challenge(reply, prepared) after a 401
to answer a challenge within the same attempt, and refresh(reply) to decide on one new attempt.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from urllib.parse import urlsplit


def _host_of(url):
    return urlsplit(url).netloc or url


class Auth(object):
    """No authentication."""

    name = "none"

    def apply(self, prepared):
        """Set whatever this attempt needs (headers, signature) on the prepared request."""

    def challenge(self, reply, prepared):
        """True when reply is a challenge this strategy answered on prepared: send it again now."""
        return False

    def refresh(self, reply):
        """True when a 401 reply is worth one more attempt after this strategy renewed itself."""
        return False

    def take_notes(self):
        """Warnings about the server's demands since the last call (the transport shows each once)."""
        return []


NO_AUTH = Auth()


class Signer(Auth):
    """sign(prepared) sets the signature headers; called for every attempt."""

    name = "signature"

    def __init__(self, sign):
        self._sign = sign

    def apply(self, prepared):
        self._sign(prepared)


class TokenLogin(Auth):
    """A token from login(stale) sent in a header; one new login when the service answers 401.

    login(stale) returns the token; it is called lazily, once (stale=None), and again once after
    a 401 with the refused token as stale, so a login that remembers tokens replaces that one.
    Thread-safe: concurrent requests share one login.
    """

    name = "token"

    def __init__(self, login, header="X-Auth-Token"):
        self._login = login
        self.header = header
        self._token = None
        self._stale = None
        self._refreshed = False
        self._lock = threading.Lock()

    def token(self):
        with self._lock:
            if self._token is None:
                self._token = self._login(self._stale)
            return self._token

    def apply(self, prepared):
        prepared.headers[self.header] = self.token()

    def refresh(self, reply):
        if reply.status_code != 401:
            return False
        with self._lock:
            sent = reply.request_headers.get(self.header) if reply.request_headers is not None else None
            if self._token is not None and sent not in (None, self._token):
                return True  # another thread already logged in again: retry with its token
            if self._refreshed:
                return False
            self._refreshed = True
            self._stale, self._token = self._token, None
        return True


# RFC 7616 algorithms; each also as "<name>-sess" (HA1 then hashes in the nonce and cnonce).
_HASHES = {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256"}
# Strongest first: the challenge answered is the strongest one offered.
_STRENGTH = {"SHA-512-256": 3, "SHA-256": 2, "MD5": 1}

# The pieces of a WWW-Authenticate value, each matched at one position and consumed once, so
# parsing is linear in the header's length whatever a server sends (a findall of a pattern
# that can start anywhere, as before, is quadratic on a long run of word characters).
_TOKEN = re.compile(r'[^\s,="]+')
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)
_SPACE = re.compile(r'[\s]*')
_UNESCAPE = re.compile(r"\\(.)", re.S)


class UnsupportedChallenge(Exception):
    """The server asks for an authentication this client cannot answer (the transport reports it)."""


def _base_algorithm(algorithm):
    name = (algorithm or "MD5").upper()
    return name[:-5] if name.endswith("-SESS") else name


def _digest_hash(algorithm):
    """text -> hex digest for a Digest algorithm name (any case, with or without -sess), or None."""
    name = _base_algorithm(algorithm)
    if name not in _HASHES:
        return None
    try:
        hashlib.new(_HASHES[name])
    except ValueError:  # SHA-512/256 needs an OpenSSL that has it
        return None
    return lambda text: hashlib.new(_HASHES[name], text.encode("utf-8")).hexdigest()


def parse_challenges(header):
    """Every challenge of a WWW-Authenticate value (several headers arrive joined by commas):
    [(scheme lower-cased, {param name lower-cased: value})], in order, in linear time."""
    challenges = []
    text = header or ""
    pos, end = 0, len(text)
    while pos < end:
        char = text[pos]
        if char.isspace() or char in ",=":
            pos += 1
            continue
        if char == '"':  # a stray quoted string: skip it whole
            match = _QUOTED.match(text, pos)
            pos = match.end() if match else end
            continue
        token = _TOKEN.match(text, pos)
        pos = token.end()
        after = _SPACE.match(text, pos).end()
        if after < end and text[after] == "=" and challenges:
            # name=value, a parameter of the current challenge
            pos = _SPACE.match(text, after + 1).end()
            if pos < end and text[pos] == '"':
                quoted = _QUOTED.match(text, pos)
                if quoted:
                    value, pos = _UNESCAPE.sub(r"\1", quoted.group(1)), quoted.end()
                else:  # an unclosed quote: the rest of the header is its value
                    value, pos = text[pos + 1:], end
            else:
                bare = _TOKEN.match(text, pos)
                value, pos = (bare.group(0), bare.end()) if bare else ("", pos)
            challenges[-1][1].setdefault(token.group(0).lower(), value)
        else:
            challenges.append((token.group(0).lower(), {}))
    return challenges


def _rank(params):
    """Sort key of a Digest challenge: stronger algorithm first, then one that offers qop=auth."""
    qops = [q.strip().lower() for q in params.get("qop", "").split(",")]
    return (_STRENGTH.get(_base_algorithm(params.get("algorithm")), 0), "auth" in qops)


def parse_challenge(header):
    """The parameters of the strongest Digest challenge this client supports in a WWW-Authenticate
    value; None when it holds no Digest challenge at all; UnsupportedChallenge when it holds
    only Digest challenges with algorithms this client lacks."""
    digests = [params for scheme, params in parse_challenges(header) if scheme == "digest"]
    if not digests:
        return None
    usable = [params for params in digests if _digest_hash(params.get("algorithm")) is not None]
    if not usable:
        offered = ", ".join(sorted(set(params.get("algorithm") or "MD5" for params in digests)))
        raise UnsupportedChallenge(
            "the server asks for HTTP Digest with algorithm %s, which this client does not support "
            "(it supports %s, each also -sess)" % (offered, ", ".join(sorted(_HASHES))))
    return max(usable, key=_rank)  # max keeps the first of equals: the server's own order


def weaknesses(params):
    """What is weak about the Digest challenge answered, as short phrases (the transport warns)."""
    found = []
    if _base_algorithm(params.get("algorithm")) == "MD5":
        found.append("offers HTTP Digest only with MD5, a broken hash")
    if "auth" not in [q.strip().lower() for q in params.get("qop", "").split(",")]:
        found.append("offers HTTP Digest without qop=auth (no client nonce, so answers can be replayed)")
    return found


class Digest(Auth):
    """HTTP Digest with a user name and password, qop=auth."""

    name = "digest"

    def __init__(self, username, password):
        self.username = username
        self._password = password
        self._challenge = None
        self._cnonce = None
        self._nonce_count = 0
        self._notes = []
        self._lock = threading.Lock()

    def take_notes(self):
        notes, self._notes = self._notes, []
        return notes

    def header(self, method, path_url):
        """The Authorization header for one request under the current challenge."""
        with self._lock:
            challenge, cnonce = self._challenge, self._cnonce
            self._nonce_count += 1
            count = self._nonce_count
        algorithm = challenge.get("algorithm") or "MD5"
        digest = _digest_hash(algorithm)
        realm, nonce = challenge.get("realm", ""), challenge.get("nonce", "")
        nc = "%08x" % count
        ha1 = digest("%s:%s:%s" % (self.username, realm, self._password))
        if algorithm.upper().endswith("-SESS"):
            # The session key of RFC 7616 3.4.2, from the nonce and the cnonce of the first answer;
            # one cnonce per challenge (nc counts the requests) keeps it the same for every request.
            ha1 = digest("%s:%s:%s" % (ha1, nonce, cnonce))
        ha2 = digest("%s:%s" % (method, path_url))
        qops = [q.strip() for q in (challenge.get("qop") or "").split(",") if q.strip()]
        fields = [("username", self.username), ("realm", realm), ("nonce", nonce), ("uri", path_url)]
        if "auth" in qops:
            response = digest("%s:%s:%s:%s:auth:%s" % (ha1, nonce, nc, cnonce, ha2))
            extra = ", qop=auth, nc=%s, cnonce=\"%s\"" % (nc, cnonce)
        else:
            response = digest("%s:%s:%s" % (ha1, nonce, ha2))
            extra = ""
        fields.append(("response", response))
        if challenge.get("opaque"):
            fields.append(("opaque", challenge["opaque"]))
        if challenge.get("algorithm"):
            fields.append(("algorithm", challenge["algorithm"]))
        quoted = ", ".join('%s="%s"' % (name, value.replace("\\", "\\\\").replace('"', '\\"'))
                           for name, value in fields if name != "algorithm")
        if challenge.get("algorithm"):
            quoted += ", algorithm=%s" % challenge["algorithm"]
        return "Digest " + quoted + extra

    def apply(self, prepared):
        if self._challenge is not None:
            prepared.headers["Authorization"] = self.header(prepared.method, prepared.path_url)

    def challenge(self, reply, prepared):
        if reply.status_code != 401:
            return False
        params = parse_challenge(reply.headers.get("WWW-Authenticate"))
        if params is None:
            return False
        for weakness in weaknesses(params):
            self._notes.append("the server at %s %s; its password answers are weaker than they should be"
                               % (_host_of(prepared.url), weakness))
        with self._lock:
            previous = self._challenge
        answered = prepared.headers.get("Authorization")
        # Answer a first challenge, a stale nonce or a new nonce; a refused answer to the very
        # challenge we answered means wrong credentials, which is final.
        same_nonce = answered and previous is not None and params.get("nonce") == previous.get("nonce")
        if same_nonce and params.get("stale", "").lower() != "true":
            return False
        with self._lock:
            self._challenge = params
            self._cnonce = hashlib.sha256(os.urandom(16)).hexdigest()[:16]
            self._nonce_count = 0
        prepared.headers["Authorization"] = self.header(prepared.method, prepared.path_url)
        return True
