package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// A webhook URL is chosen by whoever holds a developer's account, and the
// server then makes requests to it from inside its own network: without a
// guard, anyone could make KeyBox reach its database, a cloud metadata
// service (169.254.169.254) or an admin page on localhost. So addresses
// that are not public are refused twice: when a URL is given (every address
// its host resolves to), and when a connection is made (the address
// actually dialled, which a DNS answer changed in between cannot dodge).
// AllowPrivate lifts both, for tests and installations on a LAN.

// Policy says which endpoints deliveries may reach.
type Policy struct {
	// AllowPrivate permits loopback, private and link-local addresses.
	AllowPrivate bool
	// Resolver looks up host names (net.DefaultResolver when nil).
	Resolver *net.Resolver
}

// blocked are the ranges that are not the public internet, beyond what
// netip's predicates name: shared address space (carrier-grade NAT), IETF
// protocol assignments, benchmarking, reserved and documentation ranges,
// and the IPv6 prefixes that embed an IPv4 address.
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2002::/16"),
	netip.MustParsePrefix("2001::/32"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("100::/64"),
}

// Forbidden reports whether ip is an address a webhook may not reach
// without AllowPrivate: loopback, private (including IPv6 unique local
// addresses), link-local (including the cloud metadata address),
// unspecified, multicast, and the other ranges that are not the public
// internet. An IPv4 address written as IPv6 is judged as IPv4.
func Forbidden(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range blocked {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// lookupTimeout bounds the name lookup of a URL being checked: it runs in
// the request that gives the URL.
const lookupTimeout = 5 * time.Second

// errForbiddenAddress is the dial-time refusal.
var errForbiddenAddress = errors.New("the address is not public (loopback, private or link-local): refused")

// CheckURL parses a webhook URL and checks it against the policy. The error
// is a reason fit to show the URL's owner.
func (p Policy) CheckURL(ctx context.Context, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, errors.New("must be an absolute http or https URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("must use http or https")
	}
	if u.User != nil {
		return nil, errors.New("must not contain a user name or password")
	}
	if u.Fragment != "" {
		return nil, errors.New("must not contain a fragment (#)")
	}
	host := u.Hostname()
	if host == "" {
		return nil, errors.New("must name a host")
	}
	if p.AllowPrivate {
		return u, nil
	}
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		if Forbidden(ip) {
			return nil, errors.New("must not point to a loopback, private or link-local address")
		}
		return u, nil
	}
	r := p.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return nil, fmt.Errorf("host %q does not resolve", host)
	}
	for _, a := range addrs {
		if Forbidden(a) {
			return nil, errors.New("must not point to a loopback, private or link-local address")
		}
	}
	return u, nil
}

// control refuses, just before a connection is made, an address the policy
// forbids: the check that a changed DNS answer cannot get round.
func (p Policy) control(_, address string, _ syscall.RawConn) error {
	if p.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, errForbiddenAddress)
	}
	if Forbidden(ap.Addr()) {
		return fmt.Errorf("dial %s: %w", address, errForbiddenAddress)
	}
	return nil
}
