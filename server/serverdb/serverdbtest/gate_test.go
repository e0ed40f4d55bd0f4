package serverdbtest

import (
	"os"
	"runtime"
	"testing"
)

// At most n places are held at once: a third waiter gets one only when
// one of the two held is given back, and the places held are never more
// than n (decision 0140).
func TestSuiteSlotsBound(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no file locks here: the suites are not gated")
	}
	dir := t.TempDir()
	const n = 2
	free := func() int { // the places a non-waiting taker finds free now
		t.Helper()
		k := 0
		for i := range n {
			f, err := lockFile(suiteLock(dir, i), false)
			if err != nil {
				t.Fatal(err)
			}
			if f != nil {
				k++
				f.Close()
			}
		}
		return k
	}
	take := func() *os.File {
		t.Helper()
		f, err := takeSuiteSlot(dir, n)
		if err != nil || f == nil {
			t.Fatalf("take a place: %v, %v", f, err)
		}
		return f
	}
	a, b := take(), take()
	if k := free(); k != 0 {
		t.Fatalf("%d places free with two of two held", k)
	}
	got := make(chan *os.File)
	go func() {
		f, err := takeSuiteSlot(dir, n)
		if err != nil {
			t.Error(err)
		}
		got <- f
	}()
	select {
	case <-got:
		t.Fatal("a third place taken while two of two were held")
	default:
	}
	a.Close()
	c := <-got
	if c == nil {
		t.Fatal("the waiter got no place once one was given back")
	}
	if k := free(); k != 0 {
		t.Errorf("%d places free with two held (the waiter's and one of the first)", k)
	}
	b.Close()
	c.Close()
	if k := free(); k != n {
		t.Errorf("%d places free with none held, want %d", k, n)
	}
}

// The number of places comes from EnvSuites, DefaultSuites when unset.
func TestSuitesFromTheEnvironment(t *testing.T) {
	t.Setenv(EnvSuites, "")
	if n := suites(t); n != DefaultSuites {
		t.Errorf("unset: %d, want %d", n, DefaultSuites)
	}
	t.Setenv(EnvSuites, "3")
	if n := suites(t); n != 3 {
		t.Errorf("3: %d", n)
	}
}
