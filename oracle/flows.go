package main

import (
	"fmt"
	"io"
)

func runFlows(t *tree, name, flowsPath string, stdout io.Writer) (int, error) {
	return 0, fmt.Errorf("flows: not built yet")
}
