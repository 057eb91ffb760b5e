package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets testscript run this binary as the "belladonna" command.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"belladonna": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI scripts in testdata/script, as a user would type
// them. E2E_UPDATE=1 rewrites their expected output.
func TestScripts(t *testing.T) {
	repos, err := filepath.Abs("../../testdata/repos")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: os.Getenv("E2E_UPDATE") != "",
		Setup: func(env *testscript.Env) error {
			env.Setenv("REPOS", repos)
			return nil
		},
	})
}
