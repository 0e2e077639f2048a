//go:build windows

package audit

import (
	"context"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/gatehouse-mcp/gatehouse/internal/testdir"
)

// The journal's handle may be truncated: emptying the journal (Truncate,
// SetEndOfFile) needs FILE_WRITE_DATA access, which a file opened with
// O_APPEND does not get on Windows, and a journal that cannot be emptied
// grows until it is rotated. Wine does not check this access, so
// TestEndCompletesStart passes under Wine either way; this test asks the
// handle what access it was granted (NtQueryObject), which Wine answers.
func TestJournalMayBeEmptied(t *testing.T) {
	l, err := Open(filepath.Join(testdir.New(t), "v.db"), Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	if err := l.Start(rec(time.Now())); err != nil {
		t.Fatal(err)
	}
	var info struct { // OBJECT_BASIC_INFORMATION
		Attributes    uint32
		GrantedAccess uint32
		_             [12]uint32
	}
	const objectBasicInformation = 0
	l.jmu.Lock()
	h := l.journal.Fd()
	status, _, _ := windows.NewLazySystemDLL("ntdll.dll").NewProc("NtQueryObject").Call(h, objectBasicInformation, uintptr(unsafe.Pointer(&info)), unsafe.Sizeof(info), 0)
	l.jmu.Unlock()
	if status != 0 {
		t.Fatalf("NtQueryObject: NTSTATUS %#x", status)
	}
	if info.GrantedAccess&windows.FILE_WRITE_DATA == 0 {
		t.Errorf("the journal's handle has access %#x, without FILE_WRITE_DATA: Windows refuses to truncate it", info.GrantedAccess)
	}
}
