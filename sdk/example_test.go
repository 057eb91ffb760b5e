package sdk_test

import (
	"context"
	"fmt"
	"testing/fstest"

	"github.com/belladonna-dev/belladonna/sdk"
)

func Example() {
	ctx := context.Background()
	p := sdk.New(sdk.Options{})
	err := p.LoadFS(ctx, fstest.MapFS{"app/p.rego": {Data: []byte(`package app

allow if input.user == "alice"
`)}}, ".")
	if err != nil {
		panic(err)
	}
	ok, err := p.Allowed(ctx, "app/allow", map[string]any{"user": "alice"})
	fmt.Println(ok, err)
	// Output: true <nil>
}
