package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/belladonna-dev/belladonna/policies"
)

// A workload is one policy as users write it, its data, the document the
// load asks for, and the inputs sent (generated from a fixed seed, so every
// run and both servers see the same ones).
type workload struct {
	Name       string
	Path       string // data path asked for, e.g. rbac/allow
	Entrypoint string // for opa build -O=1 -e
	Files      map[string][]byte
	Inputs     [][]byte // request bodies {"input": ...}
}

const rbacRego = `package rbac

# Roles inherit the permissions of the roles they name; a user holds the
# permissions of every role reachable from the roles assigned to it.

default allow := false

role_graph[name] := object.get(role, "inherits", []) if some name, role in data.rbac.roles

user_roles := graph.reachable(role_graph, data.rbac.users[input.user].roles)

allow if {
	some name in user_roles
	some p in data.rbac.roles[name].permissions
	p.action == input.action
	glob.match(p.resource, ["/"], input.resource)
}
`

const gatewayRego = `package gateway

# An API gateway: the JWT's claims (verified upstream) are in the input; a
# route matches on method and path; the caller needs the route's scope, an
# unexpired token from the right issuer, and room in its plan's rate limit.

default allow := false

route := r if {
	some r in data.gateway.routes
	input.method in r.methods
	glob.match(r.path, ["/"], input.path)
}

tier := data.gateway.tiers[input.claims.plan]

token_ok if {
	input.claims.iss == data.gateway.issuer
	input.claims.exp > input.now
	input.claims.aud == data.gateway.audience
}

allow if {
	token_ok
	route.scope in input.claims.scopes
	input.requests_this_minute < tier.limit
}

decision := {
	"allow": allow,
	"plan": input.claims.plan,
	"limit": object.get(tier, "limit", 0),
	"route": object.get(route, "name", ""),
}
`

func workloads(seed uint64, n int) ([]*workload, error) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	sys, err := syscallWorkload(r, n)
	if err != nil {
		return nil, err
	}
	return []*workload{rbacWorkload(r, n), gatewayWorkload(r, n), sys}, nil
}

func body(input any) []byte {
	b, _ := json.Marshal(map[string]any{"input": input})
	return b
}

// rbacWorkload: 1,000 users, 50 roles in a hierarchy (each inherits up to
// two lower roles), permissions on resource globs.
func rbacWorkload(r *rand.Rand, n int) *workload {
	actions := []string{"read", "write", "delete", "approve", "deploy"}
	kinds := []string{"reports", "invoices", "clusters", "repos", "secrets", "dashboards"}
	roles := map[string]any{}
	for i := range 50 {
		var inherits []string
		for range r.IntN(3) {
			if i > 0 {
				inherits = append(inherits, fmt.Sprintf("role-%02d", r.IntN(i)))
			}
		}
		var perms []any
		for range 1 + r.IntN(4) {
			perms = append(perms, map[string]any{"action": actions[r.IntN(len(actions))],
				"resource": fmt.Sprintf("%s/team-%d/*", kinds[r.IntN(len(kinds))], r.IntN(10))})
		}
		roles[fmt.Sprintf("role-%02d", i)] = map[string]any{"inherits": inherits, "permissions": perms}
	}
	users := map[string]any{}
	for i := range 1000 {
		var rs []string
		for range 1 + r.IntN(3) {
			rs = append(rs, fmt.Sprintf("role-%02d", r.IntN(50)))
		}
		users[fmt.Sprintf("user-%04d", i)] = map[string]any{"roles": rs}
	}
	data, _ := json.Marshal(map[string]any{"roles": roles, "users": users})
	w := &workload{Name: "rbac", Path: "rbac/allow", Entrypoint: "rbac/allow",
		Files: map[string][]byte{"rbac/policy.rego": []byte(rbacRego), "rbac/data.json": data}}
	for range n {
		w.Inputs = append(w.Inputs, body(map[string]any{
			"user":     fmt.Sprintf("user-%04d", r.IntN(1000)),
			"action":   actions[r.IntN(len(actions))],
			"resource": fmt.Sprintf("%s/team-%d/item-%d", kinds[r.IntN(len(kinds))], r.IntN(10), r.IntN(100)),
		}))
	}
	return w
}

func gatewayWorkload(r *rand.Rand, n int) *workload {
	methods := []string{"GET", "POST", "PUT", "DELETE"}
	var routes []any
	for i := range 60 {
		routes = append(routes, map[string]any{"name": fmt.Sprintf("route-%d", i),
			"path":    fmt.Sprintf("/api/v%d/svc-%d/*", 1+i%3, i),
			"methods": []string{methods[i%4], methods[(i+1)%4]}, "scope": fmt.Sprintf("svc-%d:%s", i, []string{"read", "write"}[i%2])})
	}
	tiers := map[string]any{"free": map[string]any{"limit": 60}, "pro": map[string]any{"limit": 600}, "enterprise": map[string]any{"limit": 6000}}
	data, _ := json.Marshal(map[string]any{"routes": routes, "tiers": tiers, "issuer": "https://auth.example.com", "audience": "api"})
	w := &workload{Name: "gateway", Path: "gateway/decision", Entrypoint: "gateway/decision",
		Files: map[string][]byte{"gateway/policy.rego": []byte(gatewayRego), "gateway/data.json": data}}
	plans := []string{"free", "pro", "enterprise", "trial"}
	for range n {
		i := r.IntN(70) // some paths match no route
		var scopes []string
		for range 1 + r.IntN(4) {
			scopes = append(scopes, fmt.Sprintf("svc-%d:%s", r.IntN(60), []string{"read", "write"}[r.IntN(2)]))
		}
		if r.IntN(2) == 0 {
			scopes = append(scopes, fmt.Sprintf("svc-%d:%s", i, []string{"read", "write"}[i%2]))
		}
		iss := "https://auth.example.com"
		if r.IntN(20) == 0 {
			iss = "https://evil.example.com"
		}
		w.Inputs = append(w.Inputs, body(map[string]any{
			"method": methods[r.IntN(4)], "path": fmt.Sprintf("/api/v%d/svc-%d/items/%d", 1+i%3, i, r.IntN(1000)),
			"now": 1767225600 + r.IntN(3600),
			"claims": map[string]any{"sub": fmt.Sprintf("client-%d", r.IntN(500)), "iss": iss, "aud": "api",
				"exp": 1767225600 + r.IntN(7200), "plan": plans[r.IntN(len(plans))], "scopes": scopes},
			"requests_this_minute": r.IntN(700),
		}))
	}
	return w
}

// syscallWorkload is the shipped syscall policy on events shaped like the
// eBPF layer's.
func syscallWorkload(r *rand.Rand, n int) (*workload, error) {
	w := &workload{Name: "syscall", Path: "syscall/decision", Entrypoint: "syscall/decision", Files: map[string][]byte{}}
	for _, p := range []string{"syscall/syscall.rego", "config/syscall/data.json"} {
		b, err := fs.ReadFile(policies.FS, p)
		if err != nil {
			return nil, err
		}
		w.Files[p] = b
	}
	calls := []string{"execve", "openat", "openat", "openat", "connect", "unlinkat", "bind"}
	paths := []string{"/usr/bin/ls", "/tmp/.x/payload", "/etc/shadow", "/home/alice/notes.txt", "/var/log/app.log", "/etc/passwd", "/dev/shm/run"}
	comms := []string{"bash", "sh", "nginx", "python3", "curl", "sshd"}
	for range n {
		w.Inputs = append(w.Inputs, body(map[string]any{
			"syscall": calls[r.IntN(len(calls))], "pid": 1000 + r.IntN(60000), "ppid": 1 + r.IntN(5000), "uid": []int{0, 33, 1000}[r.IntN(3)],
			"comm": comms[r.IntN(len(comms))], "exe": "/usr/bin/" + comms[r.IntN(len(comms))], "path": paths[r.IntN(len(paths))],
			"flags": []int{0, 1, 65, 577}[r.IntN(4)], "dst_ip": fmt.Sprintf("10.0.%d.%d", r.IntN(4), r.IntN(255)),
			"dst_port": []int{0, 22, 443, 4444, 8080}[r.IntN(5)], "cgroup": "/system.slice/app.service",
		}))
	}
	return w, nil
}

// writeTree writes the workload's files under dir.
func (w *workload) writeTree(dir string) error {
	for name, b := range w.Files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
