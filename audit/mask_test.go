package audit

import (
	"reflect"
	"testing"
)

func TestMaskInput(t *testing.T) {
	in := map[string]any{
		"token":   "eyJ...",
		"user":    map[string]any{"name": "alice", "password": "hunter2"},
		"headers": map[string]any{"authorization": "Bearer x"},
		"action":  "read",
	}
	got := MaskInput(in, []string{"/input/token", "/input/user/password", "/input/absent", "/input/action/deeper", "/input/headers/authorization"})
	want := map[string]any{
		"token":   Masked,
		"user":    map[string]any{"name": "alice", "password": Masked},
		"headers": map[string]any{"authorization": Masked},
		"action":  "read",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v", got)
	}
	if in["token"] != "eyJ..." || in["user"].(map[string]any)["password"] != "hunter2" {
		t.Fatal("the caller's input was modified")
	}
}
