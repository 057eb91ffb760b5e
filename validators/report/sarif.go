package report

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"

	"github.com/belladonna-dev/belladonna/validators"
)

// SARIF 2.1.0, as GitHub code scanning ingests it: one run, a rule table with
// help links and default levels, and results that all carry a physical
// location with a repository-relative URI.
const (
	sarifSchema  = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
	sarifVersion = "2.1.0"
	toolInfoURI  = "https://github.com/belladonna-dev/belladonna"
	// fingerprintKey names our fingerprint in partialFingerprints; the /v1
	// suffix lets the algorithm change without colliding with old alerts.
	fingerprintKey = "belladonna/v1"
	// testFailureRule is the rule id failed Rego tests are reported under.
	testFailureRule = "rego-test-failure"
)

type sarifReporter struct{ opts options }

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string             `json:"id"`
	Name                 string             `json:"name,omitempty"`
	ShortDescription     sarifText          `json:"shortDescription"`
	FullDescription      *sarifText         `json:"fullDescription,omitempty"`
	HelpURI              string             `json:"helpUri,omitempty"`
	DefaultConfiguration sarifConfiguration `json:"defaultConfiguration"`
	Properties           map[string]any     `json:"properties,omitempty"`
}

type sarifConfiguration struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

func sarifLevel(s validators.Severity) string {
	switch s {
	case validators.SeverityError:
		return "error"
	case validators.SeverityWarning:
		return "warning"
	}
	return "note"
}

func (s *sarifReporter) Report(w io.Writer, r *validators.Result) error {
	rules := []sarifRule{}
	index := map[string]int{}
	addRule := func(info validators.RuleInfo) {
		if _, ok := index[info.ID]; ok {
			return
		}
		index[info.ID] = len(rules)
		rule := sarifRule{
			ID:                   info.ID,
			ShortDescription:     sarifText{Text: info.Title},
			HelpURI:              info.HelpURI,
			DefaultConfiguration: sarifConfiguration{Level: sarifLevel(info.Severity)},
			Properties:           map[string]any{"category": info.Category},
		}
		if info.Description != "" {
			rule.FullDescription = &sarifText{Text: info.Description}
		}
		rules = append(rules, rule)
	}
	for _, info := range r.Rules {
		addRule(info)
	}

	results := []sarifResult{}
	for _, f := range r.Findings {
		addRule(validators.RuleInfo{ID: f.Rule, Title: f.Rule, Severity: f.Severity})
		results = append(results, sarifResult{
			RuleID:              f.Rule,
			RuleIndex:           index[f.Rule],
			Level:               sarifLevel(f.Severity),
			Message:             sarifText{Text: f.Message},
			Locations:           []sarifLocation{location(anchor(r, f), f.Line, f.Col)},
			PartialFingerprints: map[string]string{fingerprintKey: f.Fingerprint},
		})
	}
	if r.Tests != nil {
		for _, t := range r.Tests.Results {
			if t.Status != validators.TestFail && t.Status != validators.TestError {
				continue
			}
			addRule(validators.RuleInfo{
				ID: testFailureRule, Category: "test", Title: "Rego test failed",
				Description: "A Rego unit test (test_ rule) failed or raised an error.",
				Severity:    validators.SeverityError,
				HelpURI:     "https://www.openpolicyagent.org/docs/policy-testing",
			})
			msg := fmt.Sprintf("test %s.%s failed", t.Package, t.Name)
			if t.Status == validators.TestError {
				msg = fmt.Sprintf("test %s.%s raised an error: %s", t.Package, t.Name, t.Message)
			}
			results = append(results, sarifResult{
				RuleID:    testFailureRule,
				RuleIndex: index[testFailureRule],
				Level:     "error",
				Message:   sarifText{Text: msg},
				Locations: []sarifLocation{location(t.File, t.Line, 0)},
			})
		}
	}

	log := sarifLog{
		Schema:  sarifSchema,
		Version: sarifVersion,
		Runs: []sarifRun{{
			Tool: sarifTool{Driver: sarifDriver{
				Name:           "belladonna",
				Version:        s.opts.toolVersion,
				InformationURI: toolInfoURI,
				Rules:          rules,
			}},
			Results: results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(log); err != nil {
		return fmt.Errorf("writing sarif report: %w", err)
	}
	return nil
}

func location(file string, line, col int) sarifLocation {
	// url.URL percent-encodes what a uri-reference cannot hold (spaces, #, %).
	uri := (&url.URL{Path: file}).String()
	loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: uri}}}
	if line >= 1 {
		loc.PhysicalLocation.Region = &sarifRegion{StartLine: line}
		if col >= 1 {
			loc.PhysicalLocation.Region.StartColumn = col
		}
	}
	return loc
}
