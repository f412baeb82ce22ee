"""Webhook URL safety, with addresses and a stand-in resolver (no DNS)."""
import socket

import pytest

from app.notifications.url_safety import ResolutionUnavailable, UnsafeUrl, check_url, classify_address


@pytest.mark.parametrize("address, kind", [
    ("93.184.216.34", None), ("8.8.8.8", None), ("2606:4700:4700::1111", None),
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.1", "private"), ("fd12:3456::1", "private"),
    ("100.64.0.1", "private"),
    ("169.254.169.254", "metadata"), ("fd00:ec2::254", "metadata"), ("::ffff:169.254.169.254", "metadata"),
    ("169.254.1.1", "link-local"), ("fe80::1", "link-local"), ("fe80::1%eth0", "link-local"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"),
])
def test_classify_address(address, kind):
    assert classify_address(address) == kind


def resolver_for(*addresses):
    """A getaddrinfo stand-in answering these addresses for any host."""
    def resolve(host, port, family, kind):
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, kind, 6, "", (a, port)) for a in addresses]
    return resolve


def refused(url, allow_private=False, resolver=resolver_for("93.184.216.34")) -> str:
    with pytest.raises(UnsafeUrl) as caught:
        check_url(url, allow_private=allow_private, resolver=resolver)
    return str(caught.value)


def test_public_http_and_https_are_allowed():
    check_url("https://hooks.example.com/in", allow_private=False, resolver=resolver_for("93.184.216.34"))
    check_url("http://93.184.216.34:8080/x", allow_private=False, resolver=resolver_for())


def test_only_http_schemes_and_a_host():
    assert "http and https" in refused("ftp://hooks.example.com/in")
    assert "http and https" in refused("file:///etc/passwd")
    assert "no host" in refused("http:///path")
    assert "malformed" in refused("http://example.com:99999/")


def test_loopback_and_private_need_the_development_switch():
    assert "loopback" in refused("http://127.0.0.1:9000/hook")
    assert "loopback" in refused("http://[::1]/hook")
    assert "private" in refused("http://internal.example/hook", resolver=resolver_for("10.0.0.7"))
    check_url("http://127.0.0.1:9000/hook", allow_private=True, resolver=resolver_for())
    check_url("http://internal.example/hook", allow_private=True, resolver=resolver_for("10.0.0.7"))


def test_metadata_and_link_local_are_refused_even_when_private_is_allowed():
    assert "metadata" in refused("http://169.254.169.254/latest/meta-data", allow_private=True)
    assert "metadata" in refused("http://[fd00:ec2::254]/", allow_private=True)
    assert "link-local" in refused("http://printer.local/", allow_private=True, resolver=resolver_for("169.254.3.4"))
    assert "unspecified" in refused("http://0.0.0.0:8000/", allow_private=True)


def test_every_resolved_address_must_be_public():
    assert "private" in refused("http://mixed.example/", resolver=resolver_for("93.184.216.34", "192.168.0.10"))


def test_a_host_that_does_not_resolve_is_refused():
    def fail(*_):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    assert "does not resolve" in refused("https://nowhere.invalid/", resolver=fail)
    assert "does not resolve" in refused("https://empty.example/", resolver=resolver_for())


def test_the_setting_is_the_default(app):
    from tests.overrides import with_overrides

    with_overrides(WEBHOOK_ALLOW_PRIVATE=False)
    with pytest.raises(UnsafeUrl):
        check_url("http://127.0.0.1/")
    with_overrides(WEBHOOK_ALLOW_PRIVATE=True)
    check_url("http://127.0.0.1/")


@pytest.mark.parametrize("address, kind", [
    ("2002:7f00:1::1", "loopback"),                       # 6to4 wrapping 127.0.0.1
    ("2002:a9fe:a9fe::1", "metadata"),                    # 6to4 wrapping 169.254.169.254
    ("2002:0a00:0001::", "private"),                      # 6to4 wrapping 10.0.0.1
    ("64:ff9b::7f00:1", "loopback"),                      # NAT64 (RFC 6052) of 127.0.0.1
    ("64:ff9b::a9fe:a9fe", "metadata"),
    ("64:ff9b:1::c0a8:101", "private"),                   # local-use NAT64 (RFC 8215) of 192.168.1.1
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),  # Teredo, client 127.0.0.1 (stored inverted)
    ("::ffff:10.0.0.1", "private"),                       # IPv4-mapped
    ("2002:808:808::1", None), ("64:ff9b::808:808", None),  # embedding a public address: judged public
])
def test_addresses_embedding_ipv4_are_judged_by_the_embedded_address(address, kind):
    assert classify_address(address) == kind


def test_6to4_urls_wrapping_loopback_or_metadata_are_refused():
    assert "loopback" in refused("http://[2002:7f00:1::1]/")
    assert "metadata" in refused("http://[2002:a9fe:a9fe::1]/")
    # Even with private targets allowed (development), the metadata service stays refused.
    assert "metadata" in refused("http://[64:ff9b::a9fe:a9fe]/", allow_private=True)


def _failing(errno):
    """A getaddrinfo stand-in that fails with this EAI_* code."""
    def resolve(host, port, family, kind):
        raise socket.gaierror(errno, "resolution failed")
    return resolve


def test_a_temporary_dns_failure_is_told_apart_from_a_missing_host():
    with pytest.raises(ResolutionUnavailable):
        check_url("https://hooks.example.com/in", resolver=_failing(socket.EAI_AGAIN))
    with pytest.raises(UnsafeUrl) as missing:
        check_url("https://hooks.example.com/in", resolver=_failing(socket.EAI_NONAME))
    assert not isinstance(missing.value, ResolutionUnavailable)
