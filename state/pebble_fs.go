package state

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/cockroachdb/errors/oserror"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// guardFS is the filesystem a DB gives Pebble: the filesystem asked for,
// with the writes and syncs of its files watched. Pebble cannot go on from
// a write its disk refused (a full disk, an I/O error): it panics, on
// whichever goroutine wrote, and in places leaves a mutex it then unlocks
// twice, which no recover survives. So a refused write does not reach
// Pebble: it breaks the DB (DB.failed), every operation of the DB's stores
// fails with ErrStorage from then on, and the refused write and those after
// it are reported done and dropped. The DB's contents are lost from there,
// which is what a failed DB means: the runtime wipes it and restores it
// from the changelogs, which hold every write the DB was given.
type guardFS struct {
	vfs.FS
	db *DB
}

func (g guardFS) Create(name string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := g.FS.Create(name, cat)
	return g.file(f, err, "create", name)
}

func (g guardFS) ReuseForWrite(oldname, newname string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := g.FS.ReuseForWrite(oldname, newname, cat)
	return g.file(f, err, "reuse "+oldname+" as", newname)
}

func (g guardFS) OpenReadWrite(name string, cat vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := g.FS.OpenReadWrite(name, cat, opts...)
	return g.file(f, err, "open", name)
}

// Open wraps a table opened for reading. Pebble reads a table's blocks at
// the offsets its index gives, from a handle it opened once and keeps in
// its table cache; a read that comes back short means the file lost its
// end under the open handle (a truncated table). Pebble returns the read's
// error to whichever read hit it, a plain io.EOF that says nothing of
// storage, and keeps the table open for the next read. So the short read
// breaks the DB, as a refused write does, and fails with an error that
// matches ErrStorage: the task that hit it, and every later operation of
// the DB's stores, see a fault of storage, which the runtime repairs from
// the changelogs.
func (g guardFS) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := g.FS.Open(name, opts...)
	// Blob files (values Pebble keeps out of its tables, off by default)
	// are read the same way.
	if err != nil || !strings.HasSuffix(name, ".sst") && !strings.HasSuffix(name, ".blob") {
		return f, err
	}
	return tableFile{File: f, db: g.db, name: name}, nil
}

// tableFile is a table a guardFS opened for reading.
type tableFile struct {
	vfs.File
	db   *DB
	name string
}

func (f tableFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(p, off)
	if n < len(p) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		err = fmt.Errorf("read %d bytes at offset %d of %s, got %d: %w", len(p), off, f.name, n, err)
		err = f.db.breakWith("a table ends before its blocks do", err)
	}
	return n, err
}

// file wraps a file opened for writing. A file the disk would not create
// breaks the DB too, and Pebble gets one that takes writes and drops them.
func (g guardFS) file(f vfs.File, err error, op, name string) (vfs.File, error) {
	if err != nil {
		if g.db.broken.Load() == nil && !isNotExist(err) {
			g.db.breakDB(fmt.Errorf("%s %s: %w", op, name, err))
			return guardFile{db: g.db, name: name}, nil
		}
		return nil, err
	}
	return guardFile{File: f, db: g.db, name: name}, nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) || oserror.IsNotExist(err) }

// guardFile is a file of a guardFS, called name. A nil File stands for
// one the disk would not create.
type guardFile struct {
	vfs.File
	db   *DB
	name string
}

func (f guardFile) dropped() bool { return f.File == nil || f.db.broken.Load() != nil }

func (f guardFile) refused(op string, err error) {
	f.db.breakDB(fmt.Errorf("%s %s: %w", op, f.name, err))
}

func (f guardFile) Write(p []byte) (int, error) {
	if f.dropped() {
		return len(p), nil
	}
	if _, err := f.File.Write(p); err != nil {
		f.refused("write", err)
	}
	return len(p), nil
}

func (f guardFile) WriteAt(p []byte, off int64) (int, error) {
	if f.dropped() {
		return len(p), nil
	}
	if _, err := f.File.WriteAt(p, off); err != nil {
		f.refused("write", err)
	}
	return len(p), nil
}

func (f guardFile) Preallocate(off, n int64) error {
	if f.dropped() {
		return nil
	}
	if err := f.File.Preallocate(off, n); err != nil {
		f.refused("preallocate", err)
	}
	return nil
}

func (f guardFile) Sync() error {
	if f.dropped() {
		return nil
	}
	if err := f.File.Sync(); err != nil {
		f.refused("sync", err)
	}
	return nil
}

func (f guardFile) SyncData() error {
	if f.dropped() {
		return nil
	}
	if err := f.File.SyncData(); err != nil {
		f.refused("sync", err)
	}
	return nil
}

func (f guardFile) SyncTo(n int64) (bool, error) {
	if f.dropped() {
		return false, nil
	}
	full, err := f.File.SyncTo(n)
	if err != nil {
		f.refused("sync", err)
		return false, nil
	}
	return full, nil
}

func (f guardFile) Close() error {
	if f.File == nil {
		return nil
	}
	return f.File.Close()
}

func (f guardFile) Read(p []byte) (int, error) {
	if f.File == nil {
		return 0, ErrStorage
	}
	return f.File.Read(p)
}

func (f guardFile) ReadAt(p []byte, off int64) (int, error) {
	if f.File == nil {
		return 0, ErrStorage
	}
	return f.File.ReadAt(p, off)
}

func (f guardFile) Stat() (vfs.FileInfo, error) {
	if f.File == nil {
		return nil, ErrStorage
	}
	return f.File.Stat()
}

func (f guardFile) Prefetch(off, n int64) error {
	if f.File == nil {
		return nil
	}
	return f.File.Prefetch(off, n)
}

func (f guardFile) Fd() uintptr {
	if f.File == nil {
		return vfs.InvalidFd
	}
	return f.File.Fd()
}
