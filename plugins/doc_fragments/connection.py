# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # Options of every lookup and module. Kept in step with module_utils/_options.py (TRANSPORT,
    # CONNECTION, LOOKUP, LIST_LOOKUP) by tests/unit/plugins/doc_fragments/test_option_tables.py.
    # Each section is a literal (ansible-test's yamllint reads them without running this file).
    DOCUMENTATION = r"""
options:
  timeout:
    description:
      - Seconds each HTTP attempt may take as a whole, to connect and to receive the whole answer; a server
        that sends its answer too slowly is given up on (and retried, see O(retries)).
      - In modules, the environment variable E(KEYWARD_TIMEOUT) of the host is used when this is not set.
    type: float
    default: 10
  retries:
    description:
      - How often to retry a request after a connection error or an HTTP 429, 500, 502, 503 or 504 answer.
      - V(3) retries means at most four attempts. Waits grow exponentially with jitter and honour the
        server's C(Retry-After) header (capped at 60 seconds). Requests the provider refused as wrong
        (other 4xx answers) are never retried.
      - In modules, the environment variable E(KEYWARD_RETRIES) of the host is used when this is not set.
    type: int
    default: 3
  validate_certs:
    description:
      - Whether to verify the TLS certificate of HTTPS endpoints. Only set V(false) on networks you trust.
      - In modules, the environment variable E(KEYWARD_VALIDATE_CERTS) of the host is used when this is not set.
    type: bool
    default: true
  ca_path:
    description:
      - Path to a PEM bundle of CA certificates to verify HTTPS endpoints with.
      - When given it wins over the E(REQUESTS_CA_BUNDLE) and E(CURL_CA_BUNDLE) environment variables.
      - In modules, the environment variable E(KEYWARD_CA_PATH) of the host is used when this is not set.
    type: path
"""

    # Plugins whose results are key records.
    PINS = r"""
options:
  expected_fingerprint:
    description:
      - Pins. The key must match one of these or the task fails, before anything uses the key.
      - Each entry is the SHA-256 of the key's SubjectPublicKeyInfo DER as hex (colons and case are ignored,
        as printed by C(openssl pkey -pubin -outform DER | sha256sum)), or a C(sha256//<base64>) pin as
        curl's C(--pinnedpubkey) takes it. A string with commas is read as a list.
      - Both forms are returned for every key as RV(ignore:fingerprint_sha256) and RV(ignore:pin_sha256).
    type: list
    elements: str
"""

    # Environment sources for lookups (Ansible's config manager reads them on the controller).
    # Modules take the same variables through env_fallback in their argspec.
    PLUGINS = r"""
options:
  timeout:
    env:
      - name: KEYWARD_TIMEOUT
  retries:
    env:
      - name: KEYWARD_RETRIES
  validate_certs:
    env:
      - name: KEYWARD_VALIDATE_CERTS
  ca_path:
    env:
      - name: KEYWARD_CA_PATH
"""

    # Lookups whose results are key records.
    LOOKUP = r"""
options:
  return_format:
    description:
      - V(pem) returns each key as SubjectPublicKeyInfo PEM (C(\n) line endings, trailing newline).
      - V(dict) returns the whole key record (see RV(_raw)).
      - V(raw) returns the key exactly as the provider sent it.
    type: str
    default: pem
    choices: [pem, dict, raw]
"""

    # Every lookup.
    CACHE = r"""
options:
  cache:
    description:
      - Share fetched answers between all hosts and tasks of this C(ansible-playbook) run, so that a lookup
        evaluated for hundreds of hosts costs one request per distinct term.
      - The cache lives in Ansible's per-run temporary directory on the controller, holds public data only
        (entries are keyed by the term and every option that is not a secret), and is removed when the run
        ends. Failures are remembered for 30 seconds, for the same options only.
      - Pins and every other check are applied on every evaluation, cached or not.
    type: bool
    default: true
"""
