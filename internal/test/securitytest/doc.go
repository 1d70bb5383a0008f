// Package securitytest attacks a whole hub, in-process with its real
// embedded broker, store and InfluxDB: every route of the dashboard's route
// table against every role and township (a route without a rule fails),
// secrets grepped in every answer and in the log, and a refused reload.
// The package has tests only.
package securitytest
