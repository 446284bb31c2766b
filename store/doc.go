// Package store is the folder of rotabot's stores, one package per technology,
// each an implementation of rotation.Store: bbolt (one file, one bot process) and
// postgres (PostgreSQL, for Heroku and for several bot processes on one database),
// with storetest, the contract suite both pass. What every store shares (how runs
// are numbered, how long an envelope id is remembered) lives beside the Store port
// in rotation, so no store imports another and a PostgreSQL build links no bbolt.
// This package itself holds no code; nothing imports it.
package store
