package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/hwvault/hwvault/store"
)

// doHost sends a request with the given Host header as the admin.
func (a *testAPI) doHost(method, path, host, body string) response {
	a.t.Helper()
	req, err := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Host = host
	req.Header.Set(actorHeader, admin)
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// TestHostCheck is the DNS rebinding case: a page on evil.example, its
// name rebound to 127.0.0.1, is same-origin with the API and needs no
// preflight to send X-Actor. Its requests still say Host: evil.example,
// and are refused before they do anything.
func TestHostCheck(t *testing.T) {
	a := newTestAPI(t)
	a.importIDs("HK-1")
	port := a.srv.URL[strings.LastIndex(a.srv.URL, ":")+1:]

	for _, host := range []string{"evil.example:" + port, "evil.example", "127.0.0.1.evil.example:" + port, "localhost:1"} {
		e := expectError(t, a.doHost("POST", "/v1/vaults/HK-1/assign", host, `{"owner":"mallory"}`), http.StatusMisdirectedRequest, "misdirected")
		if !strings.Contains(e.Error.Message, host) {
			t.Errorf("Host %q: message %q does not name it", host, e.Error.Message)
		}
		expectError(t, a.doHost("GET", "/v1/vaults/HK-1", host, ""), http.StatusMisdirectedRequest, "misdirected")
		expectError(t, a.doHost("GET", "/v1/nothing-here", host, ""), http.StatusMisdirectedRequest, "misdirected")
	}
	if v := expect[vaultResponse](t, a.get("/v1/vaults/HK-1"), http.StatusOK).Vault; v.Version != 1 || v.Owner != "" {
		t.Fatalf("after misdirected requests the vault is at version %d, owner %q; want 1 and none", v.Version, v.Owner)
	}

	// The loopback names with the listen port pass, in any case.
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "LocalHost:" + port, "[::1]:" + port} {
		expect[vaultResponse](t, a.doHost("GET", "/v1/vaults/HK-1", host, ""), http.StatusOK)
	}

	// A request without a Host (HTTP/1.0) is refused too.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/v1/vaults/HK-1", nil)
	req.Host = ""
	newHandler(store.NewMemory(), slog.New(slog.DiscardHandler), options{allowedHosts: defaultHosts("80")}).ServeHTTP(rec, req)
	if rec.Code != http.StatusMisdirectedRequest {
		t.Errorf("no Host: status %d, want 421", rec.Code)
	}
}

func TestHostAllowed(t *testing.T) {
	var extra hostList
	for _, v := range []string{"admin.example.com", "Proxy.Example:8443, [fd00::1]", "::2"} {
		if err := extra.Set(v); err != nil {
			t.Fatalf("Set(%q): %v", v, err)
		}
	}
	want := hostList{{"admin.example.com", ""}, {"proxy.example", "8443"}, {"fd00::1", ""}, {"::2", ""}}
	if !slices.Equal(extra, want) {
		t.Fatalf("parsed %v, want %v", extra, want)
	}
	rules := append(defaultHosts("8080", "10.0.0.5", "0.0.0.0", "::", ""), extra...)

	tests := map[string]bool{
		"localhost:8080":         true,
		"127.0.0.1:8080":         true,
		"[::1]:8080":             true,
		"10.0.0.5:8080":          true, // the listen address
		"0.0.0.0:8080":           false,
		"[::]:8080":              false,
		"admin.example.com":      true,
		"ADMIN.example.com:1234": true,
		"proxy.example:8443":     true,
		"proxy.example":          false, // port 80
		"[fd00::1]:8080":         true,
		"[::2]":                  true,
		"localhost":              false, // port 80, not 8080
		"localhost:80":           false,
		"localhost:8081":         false,
		"localhost.:8080":        false,
		"evil.example:8080":      false,
		"":                       false,
		"localhost:":             false,
		"[::1":                   false,
		"::1":                    false, // port 80
	}
	for host, want := range tests {
		if got := hostAllowed(rules, host); got != want {
			t.Errorf("hostAllowed(%q) = %v, want %v", host, got, want)
		}
	}

	// Port 80 is the one browsers leave out.
	if !hostAllowed(defaultHosts("80"), "localhost") {
		t.Error("a server on port 80 refuses Host: localhost")
	}

	for _, bad := range []string{"", "http://a.example", "a.example/x", "a.example:", "a.example:http", "[a.example]", "user@a.example", "a b"} {
		var l hostList
		if err := l.Set(bad); err == nil {
			t.Errorf("Set(%q) = nil, want an error", bad)
		}
	}
}
