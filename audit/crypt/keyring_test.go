package crypt

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/belladonna-dev/belladonna/audit"
)

func TestRotation(t *testing.T) {
	f := newFixture(t)
	k1 := f.kr.Active()
	before := [][]byte{f.encode(t, decisionEntry("")), f.encode(t, decisionEntry("ivan"))}

	k2, err := f.kr.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if k2.ID == k1.ID || f.kr.Active() != k2 || k2.State != StateActive {
		t.Fatalf("after Rotate: active %+v, returned %+v, old %+v", f.kr.Active(), k2, k1)
	}
	after := [][]byte{f.encode(t, decisionEntry("")), f.encode(t, decisionEntry("ivan"))}
	for i, p := range after {
		if h, _ := Inspect(p); h.KeyID != k2.ID {
			t.Errorf("entry %d after rotation sealed with %q, want %q", i, h.KeyID, k2.ID)
		}
	}
	for i, p := range before {
		if h, _ := Inspect(p); h.KeyID != k1.ID {
			t.Errorf("entry %d before rotation sealed with %q, want %q", i, h.KeyID, k1.ID)
		}
	}
	// Both generations decode, in this process and after a restart.
	for _, c := range []*Codec{f.codec, f.reopen(t)} {
		for _, p := range append(before, after...) {
			if e := decode(t, c, p); e.DecisionID == "" {
				t.Errorf("decoded %+v", e)
			}
		}
	}
	keys := f.kr.Keys()
	if len(keys) != 2 || keys[0].ID != k1.ID || keys[0].State != StateRetired || keys[1].ID != k2.ID {
		t.Errorf("Keys() = %+v", keys)
	}
	fi, err := os.Stat(f.kr.Path())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("keyring file mode after rotation: %v %v", fi.Mode(), err)
	}
	// No temp files left behind.
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(f.kr.Path()), ".tmp-*")); len(m) > 0 {
		t.Errorf("temp files left: %v", m)
	}
}

func TestWrongKeyring(t *testing.T) {
	f := newFixture(t)
	p := f.encode(t, decisionEntry(""))
	kid := f.kr.Active().ID

	t.Run("keyring of another installation", func(t *testing.T) {
		other := newFixture(t)
		err := other.codec.Decode(p, &audit.Entry{})
		assertKeyError(t, err, ErrUnknownKey, kid)
	})
	t.Run("same key id, different key bytes", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "forged.json")
		writeKeyring(t, path, func(kf *keyringFile) { kf.Keys[0].Key[0] ^= 0xff }, f.kr.Path())
		kr, err := LoadKeyring(path)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := NewCodec(kr, nil)
		assertKeyError(t, c.Decode(p, &audit.Entry{}), ErrAuthFailed, kid)
	})
}

func TestKeyringPermissions(t *testing.T) {
	f := newFixture(t)
	for _, mode := range []os.FileMode{0o640, 0o604, 0o660, 0o644} {
		if err := os.Chmod(f.kr.Path(), mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadKeyring(f.kr.Path())
		pe, ok := errors.AsType[*PermissionError](err)
		if !ok || !errors.Is(err, ErrInsecurePermissions) || pe.Path != f.kr.Path() || pe.Mode.Perm() != mode {
			t.Errorf("mode %04o: %v, want *PermissionError", mode, err)
		}
		if ok && !strings.Contains(err.Error(), "chmod go-rwx") {
			t.Errorf("error should say how to fix it: %v", err)
		}
	}
	_ = os.Chmod(f.kr.Path(), 0o400)
	if _, err := LoadKeyring(f.kr.Path()); err != nil {
		t.Errorf("read-only owner file: %v", err)
	}

	t.Run("subject store directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "subjects"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, "subjects"), 0o755); err != nil { // umask-proof
			t.Fatal(err)
		}
		if _, err := OpenSubjectStore(dir, f.kr); !errors.Is(err, ErrInsecurePermissions) {
			t.Errorf("world-readable subject dir: %v", err)
		}
	})
	t.Run("subject key file", func(t *testing.T) {
		p := f.encode(t, decisionEntry("judy"))
		h, _ := Inspect(p)
		if err := os.Chmod(f.store.keyPath(h.SubjectKeyID), 0o644); err != nil {
			t.Fatal(err)
		}
		err := f.reopen(t).Decode(p, &audit.Entry{})
		if !errors.Is(err, ErrInsecurePermissions) {
			t.Errorf("decode with world-readable subject key: %v", err)
		}
	})
}

func TestKeyringValidation(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		note string
		edit func(*keyringFile)
		want error
	}{
		{"two active keys", func(kf *keyringFile) { kf.Keys = append(kf.Keys, cloneKey(kf.Keys[0], "k2-x")) }, ErrInvalidKeyring},
		{"no active key", func(kf *keyringFile) { kf.Keys[0].State = StateRetired }, ErrInvalidKeyring},
		{"unknown state", func(kf *keyringFile) { kf.Keys[0].State = "disabled" }, ErrInvalidKeyring},
		{"short key", func(kf *keyringFile) { kf.Keys[0].Key = kf.Keys[0].Key[:16] }, ErrInvalidKeyring},
		{"duplicate id", func(kf *keyringFile) {
			k := cloneKey(kf.Keys[0], kf.Keys[0].ID)
			k.State = StateRetired
			kf.Keys = append(kf.Keys, k)
		}, ErrInvalidKeyring},
		{"bad id", func(kf *keyringFile) { kf.Keys[0].ID = "../k1" }, ErrInvalidKeyring},
		{"no index key", func(kf *keyringFile) { kf.SubjectIndexKey = nil }, ErrInvalidKeyring},
		{"future version", func(kf *keyringFile) { kf.Version = 2 }, ErrUnsupportedVersion},
	}
	for _, tc := range cases {
		t.Run(tc.note, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k.json")
			writeKeyring(t, path, tc.edit, f.kr.Path())
			if _, err := LoadKeyring(path); !errors.Is(err, tc.want) {
				t.Errorf("LoadKeyring: %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("unknown field", func(t *testing.T) {
		bs, _ := os.ReadFile(f.kr.Path())
		path := filepath.Join(t.TempDir(), "k.json")
		_ = os.WriteFile(path, []byte(strings.Replace(string(bs), `"version"`, `"extra": 1, "version"`, 1)), 0o600)
		if _, err := LoadKeyring(path); !errors.Is(err, ErrInvalidKeyring) {
			t.Errorf("LoadKeyring: %v", err)
		}
	})
	t.Run("generate refuses to overwrite", func(t *testing.T) {
		before, _ := os.ReadFile(f.kr.Path())
		if _, err := GenerateKeyring(f.kr.Path()); !errors.Is(err, ErrKeyringExists) {
			t.Errorf("GenerateKeyring over existing: %v", err)
		}
		after, _ := os.ReadFile(f.kr.Path())
		if string(before) != string(after) {
			t.Error("existing keyring modified")
		}
	})
}

func TestRotateByAnotherProcess(t *testing.T) {
	f := newFixture(t)
	cli, err := LoadKeyring(f.kr.Path()) // the `belladonna audit keys rotate` process
	if err != nil {
		t.Fatal(err)
	}
	k2, err := cli.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.kr.Rotate(); !errors.Is(err, ErrKeyringChanged) {
		t.Fatalf("Rotate over a file rotated elsewhere: %v, want ErrKeyringChanged", err)
	}
	if err := f.kr.Reload(); err != nil {
		t.Fatal(err)
	}
	if f.kr.Active() != k2 {
		t.Errorf("after Reload active = %+v, want %+v", f.kr.Active(), k2)
	}
	if h, _ := Inspect(f.encode(t, decisionEntry(""))); h.KeyID != k2.ID {
		t.Errorf("codec seals with %q after Reload, want %q", h.KeyID, k2.ID)
	}
	if _, err := f.kr.Rotate(); err != nil {
		t.Errorf("Rotate after Reload: %v", err)
	}

	// A file that lost a key is refused, and the loaded keyring kept.
	writeKeyring(t, f.kr.Path(), func(kf *keyringFile) {
		kf.Keys = kf.Keys[1:]
	}, f.kr.Path())
	if err := f.kr.Reload(); !errors.Is(err, ErrKeyringChanged) {
		t.Errorf("Reload of a file missing a key: %v", err)
	}
	if len(f.kr.Keys()) != 3 {
		t.Errorf("keyring changed by a refused Reload: %+v", f.kr.Keys())
	}
}

// writeKeyring writes to path the keyring read from src, edited.
func writeKeyring(tb testing.TB, path string, edit func(*keyringFile), src string) {
	tb.Helper()
	bs, err := readPrivate(src)
	if err != nil {
		tb.Fatal(err)
	}
	var kf keyringFile
	if err := json.Unmarshal(bs, &kf); err != nil {
		tb.Fatal(err)
	}
	edit(&kf)
	out, _ := json.Marshal(kf)
	if err := writeFileAtomic(path, out); err != nil {
		tb.Fatal(err)
	}
}

func cloneKey(k keyFileKey, id string) keyFileKey {
	k.ID = id
	k.Key = append([]byte(nil), k.Key...)
	return k
}

func assertKeyError(tb testing.TB, err, want error, kid string) {
	tb.Helper()
	ke, ok := errors.AsType[*KeyError](err)
	if !ok || !errors.Is(err, want) || ke.KeyID != kid {
		tb.Fatalf("error %v, want *KeyError{%q} wrapping %v", err, kid, want)
	}
	if !strings.Contains(err.Error(), kid) {
		tb.Errorf("error text %q does not name key %q", err, kid)
	}
}
