// SPDX-License-Identifier: GPL-2.0

// Known Go stop-the-world pauses for e2e_gc.sh: automatic GC is off, so
// after the file os.Args[2] appears exactly os.Args[1] runtime.GC() calls
// stop the world, twice each (sweep termination, mark termination).
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"
)

func main() {
	debug.SetGCPercent(-1)
	n, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for {
		if _, err := os.Stat(os.Args[2]); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := 0; i < n; i++ {
		runtime.GC()
	}
	fmt.Println("done")
}
