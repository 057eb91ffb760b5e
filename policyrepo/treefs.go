package policyrepo

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// ErrSymlink: the tree holds a symbolic link. Links are not followed: a
// policy tree read from git must not reach outside itself.
var ErrSymlink = errors.New("symbolic link in the policy tree is not followed")

// TreeFS is the tree of a commit as a read-only file system, so that the
// engine and validators load any revision exactly as they load a directory.
// Files carry the commit time as their modification time.
func TreeFS(c *object.Commit) (fs.FS, error) {
	t, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("reading the tree of %s: %w", c.Hash, err)
	}
	return treeFS{root: t, when: c.Committer.When, dirs: &treeCache{trees: map[string]*object.Tree{}}}, nil
}

// FS is the tree of rev as a file system (see TreeFS).
func (r *Repo) FS(rev string) (fs.FS, *object.Commit, error) {
	c, err := r.Resolve(rev)
	if err != nil {
		return nil, nil, err
	}
	fsys, err := TreeFS(c)
	return fsys, c, err
}

type treeFS struct {
	root *object.Tree
	when time.Time
	// dirs keeps decoded subtrees by path: go-git walks and decodes from
	// the root on every lookup, which made loading 1,000 files take
	// seconds.
	dirs *treeCache
}

type treeCache struct {
	mu    sync.Mutex
	trees map[string]*object.Tree
}

// tree returns the subtree at dir ("." is the root).
func (t treeFS) tree(dir string) (*object.Tree, error) {
	if dir == "." {
		return t.root, nil
	}
	t.dirs.mu.Lock()
	tr, ok := t.dirs.trees[dir]
	t.dirs.mu.Unlock()
	if ok {
		return tr, nil
	}
	parent, err := t.tree(path.Dir(dir))
	if err != nil {
		return nil, err
	}
	e, err := parent.FindEntry(path.Base(dir))
	if err != nil || e.Mode != filemode.Dir {
		return nil, fs.ErrNotExist
	}
	sub, err := parent.Tree(path.Base(dir))
	if err != nil {
		return nil, err
	}
	t.dirs.mu.Lock()
	t.dirs.trees[dir] = sub
	t.dirs.mu.Unlock()
	return sub, nil
}

var (
	_ fs.ReadFileFS = treeFS{}
	_ fs.ReadDirFS  = treeFS{}
	_ fs.StatFS     = treeFS{}
)

func (t treeFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return &treeDir{info: t.dirInfo("."), tree: t.root, fs: t}, nil
	}
	parent, err := t.tree(path.Dir(name))
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	e, err := parent.FindEntry(path.Base(name))
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	switch {
	case e.Mode == filemode.Dir:
		sub, err := t.tree(name)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &treeDir{info: t.dirInfo(path.Base(name)), tree: sub, fs: t}, nil
	case e.Mode == filemode.Symlink:
		return nil, &fs.PathError{Op: "open", Path: name, Err: ErrSymlink}
	case e.Mode.IsFile():
		f, err := parent.TreeEntryFile(e)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("reading blob %s: %w", e.Hash, err)}
		}
		rc, err := f.Reader()
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("reading blob %s: %w", e.Hash, err)}
		}
		return &treeFile{ReadCloser: rc, info: fileInfo{name: path.Base(name), size: f.Size, mode: 0o444, when: t.when}}, nil
	default: // a submodule: not part of this repository's content
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
}

func (t treeFS) ReadFile(name string) ([]byte, error) {
	f, err := t.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, ok := f.(*treeDir); ok {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory")}
	}
	return io.ReadAll(f)
}

func (t treeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	f, err := t.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, ok := f.(*treeDir)
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	return d.ReadDir(-1)
}

func (t treeFS) Stat(name string) (fs.FileInfo, error) {
	f, err := t.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Stat()
}

func (t treeFS) dirInfo(name string) fileInfo {
	return fileInfo{name: name, mode: fs.ModeDir | 0o555, when: t.when}
}

type treeFile struct {
	io.ReadCloser
	info fileInfo
}

func (f *treeFile) Stat() (fs.FileInfo, error) { return f.info, nil }

type treeDir struct {
	info fileInfo
	tree *object.Tree
	fs   treeFS
	read int
}

func (d *treeDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *treeDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errors.New("is a directory")}
}
func (d *treeDir) Close() error { return nil }

// ReadDir lists entries in git's order; submodules are left out.
func (d *treeDir) ReadDir(n int) ([]fs.DirEntry, error) {
	var out []fs.DirEntry
	for d.read < len(d.tree.Entries) && (n <= 0 || len(out) < n) {
		e := d.tree.Entries[d.read]
		d.read++
		var info fileInfo
		switch {
		case e.Mode == filemode.Dir:
			info = d.fs.dirInfo(e.Name)
		case e.Mode == filemode.Symlink:
			info = fileInfo{name: e.Name, mode: fs.ModeSymlink | 0o444, when: d.fs.when}
		case e.Mode.IsFile():
			size, err := d.tree.Size(e.Name)
			if err != nil {
				return out, &fs.PathError{Op: "readdir", Path: e.Name, Err: err}
			}
			info = fileInfo{name: e.Name, size: size, mode: 0o444, when: d.fs.when}
		default:
			continue
		}
		out = append(out, fs.FileInfoToDirEntry(info))
	}
	if n > 0 && len(out) == 0 {
		return nil, io.EOF
	}
	return out, nil
}

type fileInfo struct {
	name string
	size int64
	mode fs.FileMode
	when time.Time
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return i.size }
func (i fileInfo) Mode() fs.FileMode  { return i.mode }
func (i fileInfo) ModTime() time.Time { return i.when }
func (i fileInfo) IsDir() bool        { return i.mode.IsDir() }
func (i fileInfo) Sys() any           { return nil }
