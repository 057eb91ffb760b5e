// Package policyrepo is the policy git repository: revisions, the tree of
// any revision as a read-only fs.FS, and history with the policy components
// each commit touched. Everything is read from git objects through go-git,
// never from a checkout, so reads never touch the working tree and work on
// bare repositories too.
package policyrepo
