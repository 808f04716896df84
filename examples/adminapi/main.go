// Adminapi is a JSON admin API for hardware vaults on net/http: the
// foundation of a custom admin tool. It serves a [vault.Service] over the
// in-memory store, so everything is forgotten when it stops.
//
// # No authentication
//
// This example has NO authentication and NO authorization. Anyone who
// can reach it can do anything, and the X-Actor header is whatever the
// client claims: it goes into the audit trail unverified. It listens on
// the loopback interface by default for that reason. A real deployment
// puts authentication in front (a reverse proxy with SSO, mutual TLS, or
// a middleware checking tokens) and derives the actor from the
// authenticated identity instead of trusting a header.
//
// What it does check is the Host header, against DNS rebinding (a
// hostile page whose name is made to resolve to 127.0.0.1 would otherwise
// be same-origin with this server, and read its answers): a request is
// served only when Host names this server, by default the -addr host,
// localhost, 127.0.0.1 or [::1] with the listen port. -allow-host adds
// names, with or without a port (repeat it, or separate names with
// commas), as needed when it listens on a wildcard address or sits
// behind a proxy that passes the public name on. Anything else is 421.
//
// Start it, with a few demo keys (HK-0001 to HK-0005):
//
//	go run ./examples/adminapi -seed              # listens on 127.0.0.1:8080; -addr to change
//
// Then, from another terminal (every change names its actor in X-Actor):
//
//	curl -s 'localhost:8080/v1/vaults?status=Ready&limit=2'
//	curl -s -H 'X-Actor: admin@example.com' -d '{"owner":"alice@example.com"}' localhost:8080/v1/vaults/HK-0001/assign
//	curl -s -H 'X-Actor: alice@example.com' -d '{"code":"<activation_code from assign>"}' localhost:8080/v1/vaults/HK-0001/activate
//	curl -s -H 'X-Actor: admin@example.com' -d '{"id":"mail","name":"Mail","login":"alice"}' localhost:8080/v1/vaults/HK-0001/accounts
//	curl -s -H 'X-Actor: admin@example.com' -d '{"reason":"Stolen","confirm":"HK-0001"}' localhost:8080/v1/vaults/HK-0001/compromise
//	curl -s localhost:8080/v1/vaults/HK-0001/history
//	curl -s localhost:8080/v1/lifecycle.mmd
//
// # Endpoints
//
//	GET    /v1/vaults                          ?status=&owner=&after=&limit=         {"vaults": [...], "next": cursor or ""}
//	POST   /v1/vaults                          {"vaults": [{"id", "labels"}]}        import, all or none; 201 (+ Location for one vault)
//	GET    /v1/vaults/{id}
//	GET    /v1/vaults/{id}/history                                                   {"events": [...]}, oldest first
//	GET    /v1/vaults/{id}/permitted                                                 {"id", "status", "permitted": [...]}
//	POST   /v1/vaults/{id}/assign              {"owner"}                             + activation_code
//	POST   /v1/vaults/{id}/unassign
//	POST   /v1/vaults/{id}/activate            {"code"}
//	POST   /v1/vaults/{id}/lock                {"reason"}                            InvalidActivationCode | LockedByInvalidPin
//	POST   /v1/vaults/{id}/reactivate                                                + activation_code
//	POST   /v1/vaults/{id}/suspend             {"description"}                       + activation_code
//	POST   /v1/vaults/{id}/reissue-code                                              + activation_code
//	POST   /v1/vaults/{id}/withdraw            {"reason", "description"}             Withdrawal | Broken
//	POST   /v1/vaults/{id}/wipe
//	POST   /v1/vaults/{id}/compromise          {"reason", "description", "confirm"}  Lost | Stolen; confirm repeats the ID
//	POST   /v1/vaults/{id}/accounts            {"id", "name", "login"}               201
//	PUT    /v1/vaults/{id}/accounts/{account}  {"name", "login"}
//	DELETE /v1/vaults/{id}/accounts/{account}
//	GET    /v1/lifecycle.mmd                                                         the lifecycle in Mermaid (text/plain)
//	GET    /v1/lifecycle.dot                                                         the lifecycle in Graphviz DOT
//
// Requests about one vault answer {"vault": {...}}; for commands, the
// vault after the change, plus "activation_code" for those that issue
// one. The code is stored only as a hash, so that response is the only
// place it ever appears; a vault's JSON never shows the hash or salt.
//
// Request bodies are one JSON object of at most 64 KiB; an empty body
// reads as {}. Decoding is strict: field names must be spelled exactly
// (case included), no object may give a key twice, and unknown fields are
// refused. Statuses, reasons and triggers are their canonical names
// ("Ready", "LockedByInvalidPin", "Assign").
//
// Every change (POST, PUT, DELETE) must name who makes it in the X-Actor
// header, which the audit trail records; without it the request is 400.
// Reads need no actor.
//
// # Errors
//
// Every error answers {"error": {"code": "...", "message": "..."}}:
//
//	400 invalid_argument    malformed JSON or query, unknown or repeated field, bad ID, owner, reason or code format, missing X-Actor
//	403 rejected            a guard (host policy) vetoed the change
//	404 not_found           no such vault, account or endpoint
//	405 method_not_allowed  the path exists for other methods (see the Allow header)
//	409 not_permitted       the lifecycle does not permit the command from the vault's status
//	409 not_allowed         the status does not allow the operation (accounts, reissue-code, activate without a code)
//	409 exists              a vault or account with that ID exists already
//	409 conflict            the vault kept changing concurrently; retry
//	413 too_large           the body exceeds 64 KiB
//	421 misdirected         the Host header does not name this server (see above)
//	422 invalid_code        wrong activation code; the attempt was counted and the body also holds the vault
//	422 code_expired        the activation code expired; reissue one
//	422 confirmation        compromise's "confirm" is not the vault ID
//	500 internal            anything else; the details go to the server log only
//	504 timeout             a deadline ran out (in the store, say); try again
//
// A request whose client went away before the answer is logged at DEBUG
// as 499 (nginx's "client closed request"), with no body.
//
// Messages say what the SDK reports about the vault: the command, the
// vault ID, and the lifecycle's, the validation's or a guard's words.
// The text of a store's errors, which may hold driver or database
// details, reaches the log only; see publicMessage in api.go.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hwvault/hwvault/store"
	"github.com/hwvault/hwvault/vault"
)

// shutdownTimeout bounds how long a shutdown waits for requests in flight.
const shutdownTimeout = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal starts a graceful shutdown, a second one
	// ends the process at once.
	context.AfterFunc(ctx, stop)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	default:
		fmt.Fprintln(os.Stderr, "adminapi:", err)
		os.Exit(1)
	}
}

// run is the whole program: it parses args, builds the service, listens,
// and serves until ctx is done, then shuts down gracefully. Logs and
// usage go to stdout. It returns nil after a clean shutdown.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("adminapi", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "127.0.0.1:8080", "`address` to listen on (port 0 picks a free one)")
	seed := fs.Bool("seed", false, "import a few demo keys at start-up")
	var allowHosts hostList
	fs.Var(&allowHosts, "allow-host", "also accept requests whose Host is `name[:port]` (repeatable, or comma-separated);\n"+
		"without a port any port; by default only the -addr host and localhost, 127.0.0.1 and [::1] with the listen port")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	log := slog.New(slog.NewTextHandler(stdout, nil))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	// The allowed Hosts need the port bound, which -addr :0 leaves open.
	// Listen accepted both addresses, so they split.
	host, _, _ := net.SplitHostPort(*addr)
	boundHost, port, _ := net.SplitHostPort(ln.Addr().String())
	hosts := append(defaultHosts(port, host, boundHost), allowHosts...)
	api := newHandler(store.NewMemory(), log, options{allowedHosts: hosts})
	if *seed {
		if err := seedDemo(ctx, api.svc); err != nil {
			ln.Close()
			return fmt.Errorf("seeding: %w", err)
		}
		log.Info("seeded demo keys", "ids", "HK-0001..HK-0005")
	}

	log.Info("listening", "url", "http://"+ln.Addr().String(), "hosts", hostList(hosts).String())
	return serve(ctx, ln, api, log)
}

// seedDemo imports the demo keys, Ready to be assigned.
func seedDemo(ctx context.Context, svc *vault.Service) error {
	ctx = vault.WithActor(ctx, "seed")
	_, err := svc.Import(ctx,
		vault.NewVault{ID: "HK-0001", Labels: map[string]string{"model": "Hideez Key 4"}},
		vault.NewVault{ID: "HK-0002", Labels: map[string]string{"model": "Hideez Key 4"}},
		vault.NewVault{ID: "HK-0003", Labels: map[string]string{"model": "Hideez Key 4"}},
		vault.NewVault{ID: "HK-0004", Labels: map[string]string{"model": "Hideez Key 3"}},
		vault.NewVault{ID: "HK-0005", Labels: map[string]string{"model": "Hideez Key 3"}},
	)
	return err
}

// serve answers HTTP on ln until ctx is done, then shuts down gracefully:
// it stops accepting connections and waits up to shutdownTimeout for the
// requests in flight, closing whatever is left after that.
func serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler: h,
		// Timeouts keep slow or stalled clients from holding connections.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return err // Serve failed before any shutdown; it never returns nil
	case <-ctx.Done():
	}

	log.Info("shutting down", "timeout", shutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}
