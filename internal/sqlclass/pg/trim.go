package pg

/*
#include <malloc.h>
*/
import "C"

// TrimCHeap gives the C heap's free memory back to the operating system.
// The PostgreSQL parser (pg_query) allocates there, as much as a few times
// a statement's size while it parses it; glibc keeps what is freed in its
// arenas, so a gateway that parsed a few large statements stays that large
// unless told. Called when the statement memory budget goes idle.
func TrimCHeap() { C.malloc_trim(0) }
