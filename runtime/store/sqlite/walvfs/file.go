package walvfs

import (
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

const (
	// bufCap is the most the unix VFS writes in one call: seekAndWriteFd
	// masks the length with 0x1ffff (an assert in C builds), so a longer
	// write would lose its high bits. A larger buffer would save no system
	// call, only hold the bytes longer, so the buffer is this size and every
	// flush is one write: 5 for a commit of 140 frames.
	bufCap = 0x1ffff

	frameHdrSize = 24 // WAL_FRAME_HDRSIZE
)

// walFile is the sqlite3_file of a WAL file, in the memory SQLite allocated
// for it (szOsFile bytes); the underlying VFS's file follows at innerOff. It
// holds no Go pointers, so it can live there.
type walFile struct {
	pMethods uintptr // sqlite3_file.pMethods
	wal      uintptr // the Wal that owns the file; 0: written through, unbuffered

	buf   uintptr // bufCap bytes of C memory, allocated on the first buffered write
	start int64   // file offset of buf[0]
	n     int64   // bytes buffered

	// lastEnd is where the previous xWrite ended, buffered or not: a frame
	// written there continues walFrames' sequence of frames, anything else
	// rewrites a frame (or follows another connection's frames).
	lastEnd int64
	// commitEnd is where the page of the commit frame whose header was
	// written last begins, -1 when the last write was not such a header.
	commitEnd int64

	// The owning Wal's header change counter and salts when the buffer was
	// started: they identify the write transaction that filled it.
	iChange uint32
	salt    [2]uint32
}

// innerOff is where the underlying file starts, 8-aligned like SQLite's
// allocations.
const innerOff = (unsafe.Sizeof(walFile{}) + 7) &^ 7

func fileOf(pFile uintptr) *walFile { return (*walFile)(cptr(pFile)) }

func innerMethods(inner uintptr) *sqlite3.Tsqlite3_io_methods {
	return (*sqlite3.Tsqlite3_io_methods)(cptr((*sqlite3.Tsqlite3_file)(cptr(inner)).FpMethods))
}

func innerWrite(tls *libc.TLS, inner, buf uintptr, n int32, off int64) int32 {
	fn := innerMethods(inner).FxWrite
	return (*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&fn)))(tls, inner, buf, n, off)
}

// live reports whether the buffer still belongs to the write transaction of
// the owning Wal that filled it: the transaction holds the write lock, and
// neither a commit (iChange) nor a WAL restart (salts) has happened since.
func (f *walFile) live() bool {
	w := (*sqlite3.TWal)(cptr(f.wal))
	return w.FwriteLock != 0 && w.Fhdr.FiChange == f.iChange && w.Fhdr.FaSalt == f.salt
}

// flush writes the buffer out with one write, or drops it if its transaction
// has ended. Either way the buffer is empty afterwards, also when the write
// fails: SQLite treats the error as the failure of the operation that
// triggered the flush, and the transaction fails with it.
func (f *walFile) flush(tls *libc.TLS, inner uintptr) int32 {
	if f.n == 0 {
		return sqlite3.SQLITE_OK
	}
	n := f.n
	f.n = 0
	if !f.live() {
		stats.dropped.Add(1)
		return sqlite3.SQLITE_OK
	}
	stats.flushes.Add(1)
	return innerWrite(tls, inner, f.buf, int32(n), f.start)
}

func walWrite(tls *libc.TLS, pFile, zBuf uintptr, iAmt int32, iOfst int64) int32 {
	stats.writes.Add(1)
	f := fileOf(pFile)
	inner := pFile + innerOff
	n := int64(iAmt)

	// A commit frame's header has the database size after the commit in
	// bytes 4..7; every other frame has 0 there.
	commitHdr := false
	if iAmt == frameHdrSize {
		b := unsafe.Slice((*byte)(cptr(zBuf)), frameHdrSize)
		commitHdr = b[4]|b[5]|b[6]|b[7] != 0
	}
	completesCommit := iOfst == f.commitEnd
	continuesFrames := iOfst == f.lastEnd
	f.lastEnd = iOfst + n
	f.commitEnd = -1
	if commitHdr {
		f.commitEnd = iOfst + n
	}

	// Only a write transaction's frames are buffered; there is no other
	// writer of a WAL file, but should there be one, it is written through.
	if f.wal == 0 || (*sqlite3.TWal)(cptr(f.wal)).FwriteLock == 0 {
		if rc := f.flush(tls, inner); rc != sqlite3.SQLITE_OK {
			return rc
		}
		stats.through.Add(1)
		return innerWrite(tls, inner, zBuf, iAmt, iOfst)
	}
	if f.n > 0 && !f.live() {
		stats.dropped.Add(1)
		f.n = 0
	}

	switch {
	case f.n > 0 && iOfst == f.start+f.n && f.n+n <= bufCap:
		copy(unsafe.Slice((*byte)(cptr(f.buf+uintptr(f.n))), n), unsafe.Slice((*byte)(cptr(zBuf)), n))
		f.n += n

	case n > bufCap || (commitHdr && !continuesFrames):
		// A commit header that does not continue the frames rewrites one
		// (walRewriteChecksums) or follows another connection's frames:
		// in the first case nothing follows it that would write it out
		// before walFrames publishes the commit.
		if rc := f.flush(tls, inner); rc != sqlite3.SQLITE_OK {
			return rc
		}
		stats.through.Add(1)
		if rc := innerWrite(tls, inner, zBuf, iAmt, iOfst); rc != sqlite3.SQLITE_OK {
			return rc
		}

	default:
		if rc := f.flush(tls, inner); rc != sqlite3.SQLITE_OK {
			return rc
		}
		if f.buf == 0 {
			if f.buf = libc.Xmalloc(tls, bufCap); f.buf == 0 {
				stats.through.Add(1)
				return innerWrite(tls, inner, zBuf, iAmt, iOfst)
			}
		}
		copy(unsafe.Slice((*byte)(cptr(f.buf)), n), unsafe.Slice((*byte)(cptr(zBuf)), n))
		f.start, f.n = iOfst, n
		w := (*sqlite3.TWal)(cptr(f.wal))
		f.iChange, f.salt = w.Fhdr.FiChange, w.Fhdr.FaSalt
	}

	// A complete commit frame goes out now, not at the sync: without sync
	// flags (synchronous=NORMAL or OFF) walFrames publishes the commit right
	// after its last write. With FULL the sync would write the same bytes
	// out a moment later, so this costs no extra write.
	if completesCommit {
		return f.flush(tls, inner)
	}
	return sqlite3.SQLITE_OK
}

func walRead(tls *libc.TLS, pFile, zBuf uintptr, iAmt int32, iOfst int64) int32 {
	f, inner := fileOf(pFile), pFile+innerOff
	if rc := f.flush(tls, inner); rc != sqlite3.SQLITE_OK {
		return rc
	}
	fn := innerMethods(inner).FxRead
	return (*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&fn)))(tls, inner, zBuf, iAmt, iOfst)
}

func walTruncate(tls *libc.TLS, pFile uintptr, size int64) int32 {
	f, inner := fileOf(pFile), pFile+innerOff
	if rc := f.flush(tls, inner); rc != sqlite3.SQLITE_OK {
		return rc
	}
	fn := innerMethods(inner).FxTruncate
	return (*(*func(*libc.TLS, uintptr, int64) int32)(unsafe.Pointer(&fn)))(tls, inner, size)
}

func walSync(tls *libc.TLS, pFile uintptr, flags int32) int32 {
	f, inner := fileOf(pFile), pFile+innerOff
	if rc := f.flush(tls, inner); rc != sqlite3.SQLITE_OK {
		return rc
	}
	fn := innerMethods(inner).FxSync
	return (*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&fn)))(tls, inner, flags)
}

func walFileSize(tls *libc.TLS, pFile, pSize uintptr) int32 {
	f, inner := fileOf(pFile), pFile+innerOff
	if rc := f.flush(tls, inner); rc != sqlite3.SQLITE_OK {
		return rc
	}
	fn := innerMethods(inner).FxFileSize
	return (*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&fn)))(tls, inner, pSize)
}

func walLock(tls *libc.TLS, pFile uintptr, lockType int32) int32 {
	f, inner := fileOf(pFile), pFile+innerOff
	if rc := f.flush(tls, inner); rc != sqlite3.SQLITE_OK {
		return rc
	}
	fn := innerMethods(inner).FxLock
	return (*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&fn)))(tls, inner, lockType)
}

func walUnlock(tls *libc.TLS, pFile uintptr, lockType int32) int32 {
	f, inner := fileOf(pFile), pFile+innerOff
	if rc := f.flush(tls, inner); rc != sqlite3.SQLITE_OK {
		return rc
	}
	fn := innerMethods(inner).FxUnlock
	return (*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&fn)))(tls, inner, lockType)
}

func walCheckReservedLock(tls *libc.TLS, pFile, pResOut uintptr) int32 {
	f, inner := fileOf(pFile), pFile+innerOff
	if rc := f.flush(tls, inner); rc != sqlite3.SQLITE_OK {
		return rc
	}
	fn := innerMethods(inner).FxCheckReservedLock
	return (*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&fn)))(tls, inner, pResOut)
}

func walFileControl(tls *libc.TLS, pFile uintptr, op int32, pArg uintptr) int32 {
	f, inner := fileOf(pFile), pFile+innerOff
	if rc := f.flush(tls, inner); rc != sqlite3.SQLITE_OK {
		return rc
	}
	fn := innerMethods(inner).FxFileControl
	return (*(*func(*libc.TLS, uintptr, int32, uintptr) int32)(unsafe.Pointer(&fn)))(tls, inner, op, pArg)
}

func walSectorSize(tls *libc.TLS, pFile uintptr) int32 {
	inner := pFile + innerOff
	fn := innerMethods(inner).FxSectorSize
	return (*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&fn)))(tls, inner)
}

func walDeviceCharacteristics(tls *libc.TLS, pFile uintptr) int32 {
	inner := pFile + innerOff
	fn := innerMethods(inner).FxDeviceCharacteristics
	return (*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&fn)))(tls, inner)
}

// walClose drops rather than writes what a transaction that never committed
// left behind (flush decides), and frees the buffer.
func walClose(tls *libc.TLS, pFile uintptr) int32 {
	f, inner := fileOf(pFile), pFile+innerOff
	rc := f.flush(tls, inner)
	if f.buf != 0 {
		libc.Xfree(tls, f.buf)
		f.buf = 0
	}
	fn := innerMethods(inner).FxClose
	if rc2 := (*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&fn)))(tls, inner); rc == sqlite3.SQLITE_OK {
		rc = rc2
	}
	return rc
}
