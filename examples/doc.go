// Package examples holds runnable programs that show the SDK: quickstart
// (actions served by the embedded server), rolling-deploy (graceful
// shutdown on SIGTERM), kitchen-sink (one action per IO method and a page)
// and mount-chi (the server beside an existing chi app, and a feature
// package's routes mounted as a page).
package examples
