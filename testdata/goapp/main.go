// Command goapp is a small Go service that publishes realistic expvars on
// /debug/vars. It is the scrape target of expvar-collector's demo and
// integration tests and the source of the documents in tests/fixtures/.
//
// Besides the standard "cmdline" and "memstats" it exposes every shape the
// collector must handle: ints, floats, numeric and non-numeric strings, a
// map of maps, an array of objects, a boolean and keys containing '/'.
package main

import (
	"context"
	"expvar"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

var (
	requests  = expvar.NewInt("requests")
	loadAvg   = expvar.NewFloat("load_avg")
	version   = expvar.NewString("version")
	queueStr  = expvar.NewString("queue_depth_str")
	cacheHits = expvar.NewInt("cache/hits") // a '/' in a name cannot be addressed by a path
	httpStats = expvar.NewMap("http")       // method -> {"bytes": N, "count": N}
	db        = expvar.NewMap("db")
	server    = expvar.NewMap("HTTPServer") // mixed-case names: HTTPServer -> http_server

	methodMu sync.Mutex // expvar.Map has no get-or-create; guards it for httpStats
)

type worker struct {
	Name string `json:"name"`
	Busy int    `json:"busy"`
	Done int64  `json:"done"`
}

func init() {
	loadAvg.Set(0.75)
	version.Set("1.4.2-demo")
	queueStr.Set("1.5e3")
	// Pre-create the common methods so the document's shape does not depend on traffic.
	methodStats("GET")
	methodStats("POST")
	db.Add("pool/open", 4)
	db.Add("pool/idle", 2)
	db.AddFloat("pool/wait_seconds", 0.125)
	server.Add("MaxHeaderBytes", http.DefaultMaxHeaderBytes)
	server.Add("ActiveConns", 0)

	// Computed on every read of /debug/vars; derived from requests so it is deterministic.
	expvar.Publish("workers", expvar.Func(func() any {
		n := requests.Value()
		return []worker{{"fetch", 1, 10 + n}, {"parse", 0, 7 + n/2}}
	}))
	expvar.Publish("ready", expvar.Func(func() any { return true }))
}

// methodStats returns the per-method counters, creating them on first use.
func methodStats(method string) *expvar.Map {
	methodMu.Lock()
	defer methodMu.Unlock()
	if m, ok := httpStats.Get(method).(*expvar.Map); ok {
		return m
	}
	m := new(expvar.Map).Init()
	m.Add("count", 0)
	m.Add("bytes", 0)
	httpStats.Set(method, m)
	return m
}

// work is the application's only "business" endpoint, served on /work and /.
func work(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" && r.URL.Path != "/work" {
		http.NotFound(w, r)
		return
	}
	requests.Add(1)
	n := requests.Value() // may skip a value under concurrent requests; fine for a demo
	loadAvg.Add(0.01)     // accumulates float error on purpose: values like 0.7600000000000001
	if n%2 == 0 {
		cacheHits.Add(1)
	}
	written, _ := fmt.Fprintf(w, "ok %d\n", n)
	m := methodStats(r.Method)
	m.Add("count", 1)
	m.Add("bytes", int64(written))
}

// forceGC runs K (default 1) full collections so tests can drive memstats.NumGC,
// e.g. past the 256 entries of the PauseNs ring, and replies with the new NumGC.
func forceGC(w http.ResponseWriter, r *http.Request) {
	k := 1
	if s := r.URL.Query().Get("n"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 || v > 10000 {
			http.Error(w, "n must be an integer in [0, 10000]", http.StatusBadRequest)
			return
		}
		k = v
	}
	for i := 0; i < k; i++ {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(w, "%d\n", ms.NumGC)
}

// writeAddrFile replaces path atomically so a poller never reads a partial address.
func writeAddrFile(path, addr string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".addr-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(addr + "\n"); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to listen on (port 0 picks a free port)")
	addrFile := flag.String("addr-file", "", "if set, write the actual listen address to this file")
	flag.Parse()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	addr := ln.Addr().String()
	// Tests read this line to learn the port; os.Stdout is unbuffered, so no flush is needed.
	fmt.Printf("listening on %s\n", addr)
	if *addrFile != "" {
		if err := writeAddrFile(*addrFile, addr); err != nil {
			log.Fatal(err)
		}
	}

	mux := http.NewServeMux()
	mux.Handle("/debug/vars", expvar.Handler())
	mux.HandleFunc("/gc", forceGC)
	mux.HandleFunc("/work", work)
	mux.HandleFunc("/", work)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				server.Add("ActiveConns", 1)
			case http.StateClosed, http.StateHijacked:
				server.Add("ActiveConns", -1)
			}
		},
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		log.Fatal(err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Print(err) // connections still open after 5 s are dropped
	}
}
