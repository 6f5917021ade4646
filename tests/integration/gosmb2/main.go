// gosmb2 runs one file operation against an SMB server with the go-smb2 client and
// prints the outcome as one JSON object. Every run is a fresh connection: dial,
// negotiate, log in, mount the share, operate, log off.
//
//	gosmb2 -addr 127.0.0.1:PORT -user U -pass P -share S [-dialect 0x311] [-sign]
//	       OP [ARGS]
//
// OP: login | shares | mkdir DIR | rmdir DIR | put LOCAL REMOTE | get REMOTE LOCAL |
//
//	readdir DIR | stat PATH | rename OLD NEW | remove PATH
//
// Exit status 0 and {"ok":true,...} on success, 1 and {"ok":false,"error":...} on
// failure, 2 on bad usage.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/hirochachacha/go-smb2"
)

type entry struct {
	Name  string `json:"name"`
	Size  int64  `json:"size"`
	IsDir bool   `json:"is_dir"`
}

type result struct {
	Ok      bool     `json:"ok"`
	Op      string   `json:"op"`
	Error   string   `json:"error,omitempty"`
	Sha256  string   `json:"sha256,omitempty"`
	Size    int64    `json:"size"`
	Shares  []string `json:"shares,omitempty"`
	Entries []entry  `json:"entries,omitempty"`
}

func failed(r result, step string, err error) result {
	r.Ok = false
	r.Error = fmt.Sprintf("%s: %v", step, err)
	return r
}

func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func main() {
	r := run()
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
	if !r.Ok {
		os.Exit(1)
	}
}

// run performs the operation; the deferred log off and unmount run before main exits.
func run() result {
	addr := flag.String("addr", "127.0.0.1:445", "server address")
	user := flag.String("user", "", "user name")
	pass := flag.String("pass", "", "password")
	share := flag.String("share", "", "share name")
	dialect := flag.String("dialect", "0", "dialect to offer alone (0x202, 0x210, 0x300, 0x302, 0x311); 0 offers all")
	sign := flag.Bool("sign", false, "require message signing")
	timeout := flag.Duration("timeout", 60*time.Second, "bound for the whole run")
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: gosmb2 [flags] OP [ARGS]")
		os.Exit(2)
	}
	r := result{Op: args[0]}
	need := map[string]int{"login": 1, "shares": 1, "mkdir": 2, "rmdir": 2, "put": 3,
		"get": 3, "readdir": 2, "stat": 2, "rename": 3, "remove": 2}
	if n, ok := need[args[0]]; !ok || n != len(args) {
		fmt.Fprintf(os.Stderr, "gosmb2: bad operation or argument count: %v\n", args)
		os.Exit(2)
	}
	d, err := strconv.ParseUint(*dialect, 0, 16)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gosmb2: bad dialect %q\n", *dialect)
		os.Exit(2)
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	conn, err := net.DialTimeout("tcp", *addr, 10*time.Second)
	if err != nil {
		return failed(r, "dial", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(*timeout))

	dialer := &smb2.Dialer{
		Negotiator: smb2.Negotiator{RequireMessageSigning: *sign, SpecifiedDialect: uint16(d)},
		Initiator:  &smb2.NTLMInitiator{User: *user, Password: *pass},
	}
	s, err := dialer.DialContext(ctx, conn)
	if err != nil {
		return failed(r, "login", err)
	}
	defer s.Logoff()
	s = s.WithContext(ctx)

	switch args[0] {
	case "login":
		r.Ok = true
		return r
	case "shares":
		names, err := s.ListSharenames()
		if err != nil {
			return failed(r, "shares", err)
		}
		r.Shares = names
		r.Ok = true
		return r
	}

	fs, err := s.Mount(*share)
	if err != nil {
		return failed(r, "mount", err)
	}
	defer fs.Umount()
	fs = fs.WithContext(ctx)

	switch args[0] {
	case "mkdir":
		err = fs.Mkdir(args[1], 0755)
	case "rmdir", "remove":
		err = fs.Remove(args[1])
	case "rename":
		err = fs.Rename(args[1], args[2])
	case "put":
		var data []byte
		if data, err = os.ReadFile(args[1]); err == nil {
			err = fs.WriteFile(args[2], data, 0644)
			r.Sha256, r.Size = digest(data), int64(len(data))
		}
	case "get":
		var data []byte
		if data, err = fs.ReadFile(args[1]); err == nil {
			err = os.WriteFile(args[2], data, 0644)
			r.Sha256, r.Size = digest(data), int64(len(data))
		}
	case "stat":
		var fi os.FileInfo
		if fi, err = fs.Stat(args[1]); err == nil {
			r.Entries = []entry{{fi.Name(), fi.Size(), fi.IsDir()}}
		}
	case "readdir":
		var fis []os.FileInfo
		if fis, err = fs.ReadDir(args[1]); err == nil {
			r.Entries = []entry{}
			for _, fi := range fis {
				r.Entries = append(r.Entries, entry{fi.Name(), fi.Size(), fi.IsDir()})
			}
		}
	}
	if err != nil {
		return failed(r, args[0], err)
	}
	r.Ok = true
	return r
}
