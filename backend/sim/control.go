package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Faults lists every fault name ApplyFault and the control API accept.
var Faults = []string{"unplug", "replug", "reboot", "cut", "hang", "unhang", "unauthorized", "allow",
	"offline", "online", "storage", "slow", "fail", "usbinstall"}

// ApplyFault injects one fault by name, as flags and the control API give it:
//
//	unplug, replug, reboot, hang, unhang, unauthorized, allow, offline, online
//	cut=BYTES            cut the cable after BYTES more bytes from the host
//	storage=BYTES        free bytes on /data (-1 restores)
//	slow=FACTOR          FACTOR× slower link and commits (1 restores)
//	fail=PKG:CODE        installs of PKG ("*" any) fail with CODE ("" clears)
//	usbinstall=0|1       Xiaomi "Install via USB"
func (ph *Phone) ApplyFault(name, arg string) error {
	num := func() (float64, error) {
		f, err := strconv.ParseFloat(arg, 64)
		if err != nil {
			return 0, fmt.Errorf("fault %s needs a number, got %q", name, arg)
		}
		return f, nil
	}
	switch name {
	case "unplug":
		ph.Unplug()
	case "replug":
		return ph.Replug()
	case "reboot":
		ph.Reboot()
	case "hang":
		ph.Hang(true)
	case "unhang":
		ph.Hang(false)
	case "unauthorized":
		ph.SetUnauthorized()
	case "allow":
		ph.Allow()
	case "offline":
		ph.SetOffline(true)
	case "online":
		ph.SetOffline(false)
	case "cut":
		n, err := num()
		if err != nil {
			return err
		}
		ph.CutAfter(int64(n))
	case "storage":
		n, err := num()
		if err != nil {
			return err
		}
		ph.SetFreeStorage(int64(n))
	case "slow":
		n, err := num()
		if err != nil {
			return err
		}
		ph.SetSlow(n)
	case "fail":
		pkg, code, ok := strings.Cut(arg, ":")
		if !ok || pkg == "" {
			return fmt.Errorf("fault fail needs PKG:CODE, got %q", arg)
		}
		ph.FailInstall(pkg, code)
	case "usbinstall":
		ph.SetUSBInstall(arg != "0" && arg != "off" && arg != "false")
	default:
		return fmt.Errorf("unknown fault %q (known: %s)", name, strings.Join(Faults, ", "))
	}
	return nil
}

// ApplyFaultSpec applies "PHONE:NAME[=ARG]" where PHONE is an index, serial
// or "*" for every phone; e.g. "3:unauthorized", "*:slow=2", "1:fail=com.x:INVALID_APK".
func (s *Sim) ApplyFaultSpec(spec string) error {
	who, rest, ok := strings.Cut(spec, ":")
	// A serial contains a colon too: 127.0.0.1:PORT:fault.
	if ok && strings.Count(who, ".") == 3 {
		var port string
		port, rest, ok = strings.Cut(rest, ":")
		who += ":" + port
	}
	if !ok {
		return fmt.Errorf("fault %q: want PHONE:NAME[=ARG]", spec)
	}
	name, arg, _ := strings.Cut(rest, "=")
	var phones []*Phone
	if who == "*" {
		phones = s.phones
	} else if ph, found := s.Phone(who); found {
		phones = []*Phone{ph}
	} else {
		return fmt.Errorf("fault %q: no phone %q", spec, who)
	}
	for _, ph := range phones {
		if err := ph.ApplyFault(name, arg); err != nil {
			return fmt.Errorf("phone %d: %w", ph.Index, err)
		}
	}
	return nil
}

// Handler is the control API (serve it on loopback only):
//
//	GET  /phones                      every phone's status (JSON)
//	GET  /phones/{id}                 one phone (index, serial or serialno)
//	POST /phones/{id}/{fault}?arg=X   inject a fault (see ApplyFault)
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	writeJSON := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /phones", func(w http.ResponseWriter, r *http.Request) {
		out := make([]Status, 0, len(s.phones))
		for _, ph := range s.phones {
			out = append(out, ph.Status())
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("GET /phones/{id}", func(w http.ResponseWriter, r *http.Request) {
		ph, ok := s.Phone(r.PathValue("id"))
		if !ok {
			http.Error(w, "no such phone / 没有这台手机", http.StatusNotFound)
			return
		}
		writeJSON(w, ph.Status())
	})
	mux.HandleFunc("POST /phones/{id}/{fault}", func(w http.ResponseWriter, r *http.Request) {
		ph, ok := s.Phone(r.PathValue("id"))
		if !ok {
			http.Error(w, "no such phone / 没有这台手机", http.StatusNotFound)
			return
		}
		if err := ph.ApplyFault(r.PathValue("fault"), r.URL.Query().Get("arg")); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, ph.Status())
	})
	return mux
}
