package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/podometer/podometer/test/e2e/framework"
)

func main() {
	start := time.Now()
	b, err := framework.EnsureBinaries(context.Background(), log.Printf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n%s\n", b, time.Since(start))
}
