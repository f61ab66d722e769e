package undo

import (
	"testing"
)

// TestImagesInCaptureOrder: the captured rows come back from the DELETE
// that returns them in no set order; the images follow their ids (the
// order they were captured in), numerically.
func TestImagesInCaptureOrder(t *testing.T) {
	s := func(v string) *string { return &v }
	row := func(id, old string) []*string {
		return []*string{s(id), s("public.t"), s("U"), s(old), s("new"), s("id")}
	}
	imgs := Images([][]*string{row("100", "c"), row("9", "a"), row("10", "b")})
	if len(imgs) != 3 {
		t.Fatalf("%d images", len(imgs))
	}
	for i, want := range []string{"a", "b", "c"} {
		if got := *imgs[i].Old; got != want || imgs[i].Seq != i+1 {
			t.Errorf("image %d: old %q seq %d, want %q seq %d", i, got, imgs[i].Seq, want, i+1)
		}
	}
	if len(imgs[0].PK) != 1 || imgs[0].PK[0] != "id" || imgs[0].Table != "public.t" {
		t.Errorf("image 0: %+v", imgs[0])
	}
}
