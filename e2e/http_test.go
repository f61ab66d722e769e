package e2e

import "net/http"

func httpGet(url string) (*http.Response, error) { return http.Get(url) }
