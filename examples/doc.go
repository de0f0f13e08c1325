// Package examples holds runnable programs that show the SDK: quickstart
// (an action served by the embedded server), rolling-deploy (graceful
// shutdown on SIGTERM) and kitchen-sink (one action per IO method).
package examples
