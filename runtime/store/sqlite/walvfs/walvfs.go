// Package walvfs is a SQLite VFS for modernc.org/sqlite that coalesces the
// writes SQLite makes to a write-ahead log: a commit reaches the WAL file in
// writes of up to 128 KiB instead of two per frame.
//
// SQLite writes every WAL frame with two writes, the 24-byte frame header and
// then the page (wal.c: walWriteOneFrame calls walWriteToLog twice), so a
// commit of 140 pages costs 280 system calls, and the store's single writer
// is bound by them. This VFS wraps the default ("unix") VFS: every file but
// a WAL file is the unix VFS's own file, opened by its xOpen on the very
// sqlite3_file SQLite handed over, so the database file, its shared memory,
// locks and mmap are untouched. A WAL file (xOpen with SQLITE_OPEN_WAL) gets
// methods of its own, in front of the unix file that follows them in the
// same sqlite3_file: a write that continues the buffered range is appended to
// a buffer in C memory, anything else, or a write that would not fit, writes
// the buffer out with one write first. The buffer holds 128 KiB less a byte,
// the most the unix VFS writes at once (seekAndWriteFd masks the length with
// 0x1ffff), so a 140-frame commit takes 5 writes. xRead, xTruncate, xSync,
// xFileSize, xFileControl, xClose and the lock methods write the buffer out
// (or drop it, see below) before they run, so the file SQLite reads back is
// the file it wrote.
//
// # Opening a database through it
//
// [Register] once, then name the VFS in the DSN, in the form the store uses:
//
//	name, err := walvfs.Register()
//	db, err := sql.Open("sqlite", path+"?vfs="+name+"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
//
// The driver takes the vfs query parameter itself (getVFSName in
// modernc.org/sqlite) and passes it to sqlite3_open_v2 with the path, the
// query cut off. A URI, "file:"+path+"?vfs="+name+"&...", works too: SQLite
// then reads vfs= from the URI; the path must be URI-escaped in that form.
//
// # Why buffering is invisible to readers: synchronous=FULL
//
// Other connections read the WAL through their own file handles, so they see
// only what the writer's buffer has written out. They never look for a frame
// the wal-index header does not cover: sqlite3WalFindFrame (walFindFrame)
// searches frames up to the reader's snapshot of hdr.mxFrame, and the
// checkpointer (walCheckpoint) copies no frame beyond the mxFrame of the
// shared header. That header is written in one place for a commit: at the end
// of walFrames, walIndexWriteHdr, after the frames are written (the loop over
// walWriteOneFrame), after walRewriteChecksums, and after
// sqlite3OsSync(pWal->pWalFd) when the commit carries sync flags. walFrames
// writes a commit's frames and, with synchronous=FULL or EXTRA
// (Pager.walSyncFlags has the low bits set only when fullSync, see
// sqlite3PagerSetFlags), syncs the WAL before that header is published, and
// a sync writes the buffer out first. So with FULL or EXTRA every frame a
// reader can find is in the file before it can find it, and was synced
// before COMMIT returned. Use this VFS only with synchronous=FULL or EXTRA.
//
// The other paths that publish or expose frames:
//
//   - A commit without sync flags (synchronous=NORMAL or OFF) publishes its
//     frames with no xSync in between. As a second line of defence the VFS
//     writes the buffer out as soon as it holds a complete commit frame (a
//     frame header whose "database size after commit" field is non-zero,
//     then its page), and writes a commit frame header that does not continue
//     the frames written before it (walRewriteChecksums rewriting the headers
//     of a transaction that overwrote one of its own frames) straight
//     through, so the last write of walFrames is in the file before
//     walIndexWriteHdr runs in those modes too. With FULL the buffer is
//     written out at that point anyway, just before the sync, so this costs
//     nothing. The store runs with FULL; NORMAL is covered by the tests but
//     is not what this package is for.
//   - A WAL restart (walRestartLog → walRestartHdr) publishes a header with
//     mxFrame 0 before the new WAL header is written: readers then read
//     nothing from the WAL. The new WAL header (32 bytes at offset 0) is
//     followed by sqlite3OsSync (syncHeader), which writes it out.
//   - A cache spill (pagerStress → pagerWalFrames with isCommit 0, one frame
//     at a time) writes frames and adds them to the wal-index hash tables
//     (walIndexAppend) without publishing a header: other connections never
//     see them, and the writer's own later read of the page
//     (sqlite3WalReadFrame, walRewriteChecksums) goes through xRead, which
//     writes the buffer out first.
//   - A checkpoint in another connection only copies published frames; a
//     checkpoint in the writer's connection reads through xRead.
//
// # Frames of a transaction that did not commit
//
// A transaction that spilled frames and then rolled back can leave them in
// the buffer: sqlite3WalUndo does not touch the WAL file. Once the writer has
// released the WAL write lock another connection may commit frames at the
// same offsets, and writing the stale buffer out later, on the next read,
// would overwrite them (TestRollbackAfterSpill reads the other connection's
// rows back wrong without the check that follows). So the buffer is written
// out only while it belongs to the write transaction that filled it, and
// dropped otherwise: each WAL file knows the Wal object that owns it (wal.c
// allocates the WAL's sqlite3_file right behind its Wal struct, &pRet[1] in
// sqlite3WalOpen; the VFS finds it there and checks its pWalFd, zWalName and
// pVfs before relying on it) and compares, when it writes out, Wal.writeLock
// and the change counter and salts of the Wal's header with their values when
// the buffer was started. A commit changes the counter (after its sync), a
// WAL restart changes the salts, and neither changes within the transaction
// once its first frame is written. If no other connection wrote in between,
// the writer's next transaction may still write the stale frames out, past
// the last commit, where the unix VFS would have written them in the first
// place, before its own frames. This reads SQLite's private Wal struct,
// through the type the transpiled library exports for it; should a WAL file
// ever not be found where sqlite3WalOpen puts it, that file is written
// through, unbuffered.
//
// # Use
//
// Register initializes SQLite (sqlite3_vfs_register does), so anything that
// must be configured before initialization, such as
// modernc.org/sqlite.RegisterPageCache, must come first.
package walvfs

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// vfsName is the name the VFS is registered under.
const vfsName = "walvfs"

var (
	registerOnce sync.Once
	registered   string
	registerErr  error
)

// Register registers the VFS with SQLite, not as the default, and returns
// the name to pass as the vfs DSN parameter. Only the first call registers;
// later calls return its result.
//
// Databases opened through it must run with journal_mode=WAL and
// synchronous=FULL or EXTRA: the package relies on SQLite syncing a commit's
// frames before it publishes them to other connections (see the package
// documentation).
func Register() (name string, err error) {
	registerOnce.Do(func() { registered, registerErr = register() })
	return registered, registerErr
}

func register() (string, error) {
	// The TLS is only the C stack and errno of these few calls; everything
	// SQLite keeps a pointer to is allocated in C memory below and never
	// freed.
	tls := libc.NewTLS()
	defer tls.Close()

	base := sqlite3.Xsqlite3_vfs_find(tls, 0)
	if base == 0 {
		return "", fmt.Errorf("walvfs: SQLite has no default VFS")
	}
	b := (*sqlite3.Tsqlite3_vfs)(cptr(base))

	zName, err := libc.CString(vfsName)
	if err != nil {
		return "", fmt.Errorf("walvfs: %w", err)
	}
	pMethods := libc.Xmalloc(tls, libc.Tsize_t(unsafe.Sizeof(sqlite3.Tsqlite3_io_methods{})))
	pVfs := libc.Xmalloc(tls, libc.Tsize_t(unsafe.Sizeof(sqlite3.Tsqlite3_vfs{})))
	if pMethods == 0 || pVfs == 0 {
		return "", fmt.Errorf("walvfs: out of memory")
	}

	// iVersion 1: wal.c calls nothing on a WAL file beyond version 1's
	// methods (no shm, no mmap: those go through the database file).
	*(*sqlite3.Tsqlite3_io_methods)(cptr(pMethods)) = sqlite3.Tsqlite3_io_methods{
		FiVersion:               1,
		FxClose:                 fnAddr(walClose),
		FxRead:                  fnAddr(walRead),
		FxWrite:                 fnAddr(walWrite),
		FxTruncate:              fnAddr(walTruncate),
		FxSync:                  fnAddr(walSync),
		FxFileSize:              fnAddr(walFileSize),
		FxLock:                  fnAddr(walLock),
		FxUnlock:                fnAddr(walUnlock),
		FxCheckReservedLock:     fnAddr(walCheckReservedLock),
		FxFileControl:           fnAddr(walFileControl),
		FxSectorSize:            fnAddr(walSectorSize),
		FxDeviceCharacteristics: fnAddr(walDeviceCharacteristics),
	}
	walMethods = pMethods

	// Versions 2 and 3 add xCurrentTimeInt64 and the system-call hooks,
	// forwarded like the rest; a later version's methods would not be.
	v := sqlite3.Tsqlite3_vfs{
		FiVersion:   min(b.FiVersion, 3),
		FszOsFile:   int32(innerOff) + b.FszOsFile,
		FmxPathname: b.FmxPathname,
		FzName:      zName,
		FpAppData:   base,
		FxOpen:      fnAddr(vfsOpen),
	}
	set := func(dst *uintptr, baseFn, fn uintptr) {
		if baseFn != 0 {
			*dst = fn
		}
	}
	set(&v.FxDelete, b.FxDelete, fnAddr(vfsDelete))
	set(&v.FxAccess, b.FxAccess, fnAddr(vfsAccess))
	set(&v.FxFullPathname, b.FxFullPathname, fnAddr(vfsFullPathname))
	set(&v.FxDlOpen, b.FxDlOpen, fnAddr(vfsDlOpen))
	set(&v.FxDlError, b.FxDlError, fnAddr(vfsDlError))
	set(&v.FxDlSym, b.FxDlSym, fnAddr(vfsDlSym))
	set(&v.FxDlClose, b.FxDlClose, fnAddr(vfsDlClose))
	set(&v.FxRandomness, b.FxRandomness, fnAddr(vfsRandomness))
	set(&v.FxSleep, b.FxSleep, fnAddr(vfsSleep))
	set(&v.FxCurrentTime, b.FxCurrentTime, fnAddr(vfsCurrentTime))
	set(&v.FxGetLastError, b.FxGetLastError, fnAddr(vfsGetLastError))
	if v.FiVersion >= 2 {
		set(&v.FxCurrentTimeInt64, b.FxCurrentTimeInt64, fnAddr(vfsCurrentTimeInt64))
	}
	if v.FiVersion >= 3 {
		set(&v.FxSetSystemCall, b.FxSetSystemCall, fnAddr(vfsSetSystemCall))
		set(&v.FxGetSystemCall, b.FxGetSystemCall, fnAddr(vfsGetSystemCall))
		set(&v.FxNextSystemCall, b.FxNextSystemCall, fnAddr(vfsNextSystemCall))
	}
	*(*sqlite3.Tsqlite3_vfs)(cptr(pVfs)) = v

	if rc := sqlite3.Xsqlite3_vfs_register(tls, pVfs, 0); rc != sqlite3.SQLITE_OK {
		return "", fmt.Errorf("walvfs: sqlite3_vfs_register: %s", libc.GoString(sqlite3.Xsqlite3_errstr(tls, rc)))
	}
	return vfsName, nil
}

// walMethods is the sqlite3_io_methods of WAL files, in C memory.
var walMethods uintptr

// stats count what the WAL files did, for the tests.
var stats struct {
	writes  atomic.Int64 // xWrite calls SQLite made on WAL files
	flushes atomic.Int64 // writes of the buffer to the underlying file
	through atomic.Int64 // xWrite calls passed straight to the underlying file
	dropped atomic.Int64 // buffers discarded because their transaction had ended
}

// cptr turns an address SQLite gave us into a pointer. Such addresses are C
// memory (libc's allocator), never the Go heap, so the conversion is sound;
// going through memory rather than unsafe.Pointer(p) is what keeps go vet's
// unsafeptr check, written for Go memory, quiet.
func cptr(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }

// fnAddr is how the transpiled library stores a C function pointer: the word
// of a Go func value. Only top-level functions are passed, whose func values
// are static, so the address stays valid without the GC knowing about it.
func fnAddr[F any](f F) uintptr { return *(*uintptr)(unsafe.Pointer(&f)) }

func baseOf(pVfs uintptr) (uintptr, *sqlite3.Tsqlite3_vfs) {
	base := (*sqlite3.Tsqlite3_vfs)(cptr(pVfs)).FpAppData
	return base, (*sqlite3.Tsqlite3_vfs)(cptr(base))
}

func vfsOpen(tls *libc.TLS, pVfs, zName, pFile uintptr, flags int32, pOutFlags uintptr) int32 {
	base, b := baseOf(pVfs)
	xOpen := b.FxOpen
	open := *(*func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&xOpen))
	if flags&sqlite3.SQLITE_OPEN_WAL == 0 {
		return open(tls, base, zName, pFile, flags, pOutFlags)
	}
	f := (*walFile)(cptr(pFile))
	*f = walFile{lastEnd: -1, commitEnd: -1}
	if rc := open(tls, base, zName, pFile+innerOff, flags, pOutFlags); rc != sqlite3.SQLITE_OK {
		f.pMethods = 0
		return rc
	}
	f.wal = owningWal(pVfs, zName, pFile)
	f.pMethods = walMethods
	return sqlite3.SQLITE_OK
}

// owningWal returns the Wal whose pWalFd is pFile, or 0. sqlite3WalOpen
// allocates the Wal and its WAL file in one block, the file right behind
// the struct, and fills in pVfs, pWalFd and zWalName before it opens the
// file.
func owningWal(pVfs, zName, pFile uintptr) uintptr {
	p := pFile - unsafe.Sizeof(sqlite3.TWal{})
	w := (*sqlite3.TWal)(cptr(p))
	if w.FpWalFd != pFile || w.FzWalName != zName || w.FpVfs != pVfs {
		return 0
	}
	return p
}

func vfsDelete(tls *libc.TLS, pVfs, zName uintptr, syncDir int32) int32 {
	base, b := baseOf(pVfs)
	fn := b.FxDelete
	return (*(*func(*libc.TLS, uintptr, uintptr, int32) int32)(unsafe.Pointer(&fn)))(tls, base, zName, syncDir)
}

func vfsAccess(tls *libc.TLS, pVfs, zName uintptr, flags int32, pResOut uintptr) int32 {
	base, b := baseOf(pVfs)
	fn := b.FxAccess
	return (*(*func(*libc.TLS, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&fn)))(tls, base, zName, flags, pResOut)
}

func vfsFullPathname(tls *libc.TLS, pVfs, zName uintptr, nOut int32, zOut uintptr) int32 {
	base, b := baseOf(pVfs)
	fn := b.FxFullPathname
	return (*(*func(*libc.TLS, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&fn)))(tls, base, zName, nOut, zOut)
}

func vfsDlOpen(tls *libc.TLS, pVfs, zFilename uintptr) uintptr {
	base, b := baseOf(pVfs)
	fn := b.FxDlOpen
	return (*(*func(*libc.TLS, uintptr, uintptr) uintptr)(unsafe.Pointer(&fn)))(tls, base, zFilename)
}

func vfsDlError(tls *libc.TLS, pVfs uintptr, nByte int32, zErrMsg uintptr) {
	base, b := baseOf(pVfs)
	fn := b.FxDlError
	(*(*func(*libc.TLS, uintptr, int32, uintptr))(unsafe.Pointer(&fn)))(tls, base, nByte, zErrMsg)
}

func vfsDlSym(tls *libc.TLS, pVfs, pHandle, zSymbol uintptr) uintptr {
	base, b := baseOf(pVfs)
	fn := b.FxDlSym
	return (*(*func(*libc.TLS, uintptr, uintptr, uintptr) uintptr)(unsafe.Pointer(&fn)))(tls, base, pHandle, zSymbol)
}

func vfsDlClose(tls *libc.TLS, pVfs, pHandle uintptr) {
	base, b := baseOf(pVfs)
	fn := b.FxDlClose
	(*(*func(*libc.TLS, uintptr, uintptr))(unsafe.Pointer(&fn)))(tls, base, pHandle)
}

func vfsRandomness(tls *libc.TLS, pVfs uintptr, nByte int32, zOut uintptr) int32 {
	base, b := baseOf(pVfs)
	fn := b.FxRandomness
	return (*(*func(*libc.TLS, uintptr, int32, uintptr) int32)(unsafe.Pointer(&fn)))(tls, base, nByte, zOut)
}

func vfsSleep(tls *libc.TLS, pVfs uintptr, microseconds int32) int32 {
	base, b := baseOf(pVfs)
	fn := b.FxSleep
	return (*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&fn)))(tls, base, microseconds)
}

func vfsCurrentTime(tls *libc.TLS, pVfs, pTime uintptr) int32 {
	base, b := baseOf(pVfs)
	fn := b.FxCurrentTime
	return (*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&fn)))(tls, base, pTime)
}

func vfsGetLastError(tls *libc.TLS, pVfs uintptr, nBuf int32, zBuf uintptr) int32 {
	base, b := baseOf(pVfs)
	fn := b.FxGetLastError
	return (*(*func(*libc.TLS, uintptr, int32, uintptr) int32)(unsafe.Pointer(&fn)))(tls, base, nBuf, zBuf)
}

func vfsCurrentTimeInt64(tls *libc.TLS, pVfs, pTime uintptr) int32 {
	base, b := baseOf(pVfs)
	fn := b.FxCurrentTimeInt64
	return (*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&fn)))(tls, base, pTime)
}

func vfsSetSystemCall(tls *libc.TLS, pVfs, zName, pNewFunc uintptr) int32 {
	base, b := baseOf(pVfs)
	fn := b.FxSetSystemCall
	return (*(*func(*libc.TLS, uintptr, uintptr, uintptr) int32)(unsafe.Pointer(&fn)))(tls, base, zName, pNewFunc)
}

func vfsGetSystemCall(tls *libc.TLS, pVfs, zName uintptr) uintptr {
	base, b := baseOf(pVfs)
	fn := b.FxGetSystemCall
	return (*(*func(*libc.TLS, uintptr, uintptr) uintptr)(unsafe.Pointer(&fn)))(tls, base, zName)
}

func vfsNextSystemCall(tls *libc.TLS, pVfs, zName uintptr) uintptr {
	base, b := baseOf(pVfs)
	fn := b.FxNextSystemCall
	return (*(*func(*libc.TLS, uintptr, uintptr) uintptr)(unsafe.Pointer(&fn)))(tls, base, zName)
}
