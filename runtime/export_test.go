package runtime

// CrashForTest stops the app as a crash would: threads stop without
// committing and Run returns nil.
func CrashForTest(a *App) {
	a.crashed.Store(true)
	a.stopOnce.Do(func() { close(a.stop) })
	<-a.done
}

// OpenTasksForTest returns the ids of the tasks open in a, as "<sub>_<part>".
func OpenTasksForTest(a *App) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var ids []string
	for id := range a.open {
		ids = append(ids, id.String())
	}
	return ids
}
