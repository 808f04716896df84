package main

// This file holds the Host check, the API's defence against DNS
// rebinding: a page on evil.example whose name is made to resolve to
// 127.0.0.1 is same-origin with this server in the browser's eyes, so it
// could send X-Actor without a CORS preflight and read the answers
// (activation codes among them). The browser still sends its own name in
// the Host header, though, so requests are served only when Host names
// this server.

import (
	"fmt"
	"net"
	"slices"
	"strings"
)

// hostRule is one allowed Host: a name, lower case and an IPv6 address
// without brackets, and a port, "" for any port.
type hostRule struct{ name, port string }

func (h hostRule) String() string {
	name := h.name
	if strings.Contains(name, ":") {
		name = "[" + name + "]"
	}
	if h.port == "" {
		return name
	}
	return name + ":" + h.port
}

// splitHost splits a Host header value or an -allow-host entry into its
// name (lower case, an IPv6 address without brackets) and port ("" when
// it has none). IPv6 addresses with a port need their brackets.
func splitHost(s string) (name, port string, err error) {
	switch {
	case strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]"):
		name = s[1 : len(s)-1] // [::1]
		if net.ParseIP(name) == nil {
			return "", "", fmt.Errorf("%q is not an IPv6 address", name)
		}
	case strings.Count(s, ":") > 1 && !strings.HasPrefix(s, "["):
		name = s // ::1, a bare IPv6 address
		if net.ParseIP(name) == nil {
			return "", "", fmt.Errorf("%q is not an IPv6 address", name)
		}
	case strings.Contains(s, ":"):
		if name, port, err = net.SplitHostPort(s); err != nil {
			return "", "", err
		}
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return "", "", fmt.Errorf("port %q is not a number", port)
		}
	default:
		name = s
	}
	if name == "" || strings.ContainsAny(name, "/?#@[] \t") {
		return "", "", fmt.Errorf("%q is not a host name or address", s)
	}
	return strings.ToLower(name), port, nil
}

// defaultHosts returns the Hosts allowed by default for a server
// listening on port: the loopback names localhost, 127.0.0.1 and [::1],
// and the listen address's hosts (the -addr host as given, and the
// address it bound), all with that port. A wildcard listen address
// (0.0.0.0, ::, or none) adds nothing: the names clients use for such a
// server must be given with -allow-host.
func defaultHosts(port string, listenHosts ...string) []hostRule {
	rules := []hostRule{{"localhost", port}, {"127.0.0.1", port}, {"::1", port}}
	for _, h := range listenHosts {
		if ip := net.ParseIP(h); h == "" || ip != nil && ip.IsUnspecified() {
			continue
		}
		r := hostRule{strings.ToLower(h), port}
		if !slices.Contains(rules, r) {
			rules = append(rules, r)
		}
	}
	return rules
}

// hostList is the -allow-host flag: repeatable, and each value a
// comma-separated list of names, each with or without a port.
type hostList []hostRule

func (l hostList) String() string {
	s := make([]string, len(l))
	for i, h := range l {
		s[i] = h.String()
	}
	return strings.Join(s, ",")
}

func (l *hostList) Set(value string) error {
	for entry := range strings.SplitSeq(value, ",") {
		entry = strings.TrimSpace(entry)
		name, port, err := splitHost(entry)
		if err != nil {
			return fmt.Errorf("allowed host %q: %v", entry, err)
		}
		*l = append(*l, hostRule{name, port})
	}
	return nil
}

// hostAllowed reports whether the request's Host header is one of
// rules. Names compare without regard to case. A Host without a port is
// port 80, the default for http, which browsers leave out; a rule
// without a port accepts any port, and no port at all.
func hostAllowed(rules []hostRule, host string) bool {
	name, port, err := splitHost(host)
	if err != nil {
		return false // also an empty Host: HTTP/1.0 without one
	}
	for _, r := range rules {
		if r.name != name {
			continue
		}
		if r.port == "" || r.port == port || port == "" && r.port == "80" {
			return true
		}
	}
	return false
}
