package runtime

// CrashForTest stops the app as a crash would: threads stop without
// committing and Run returns nil.
func CrashForTest(a *App) {
	a.crashed.Store(true)
	a.stopOnce.Do(func() { close(a.stop) })
	<-a.done
}
