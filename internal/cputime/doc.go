// Package cputime reads the CPU time the process has used, for benchmarks
// that report CPU per operation (the figure SPEC §11 judges by, since wall
// time swings on shared machines).
package cputime
