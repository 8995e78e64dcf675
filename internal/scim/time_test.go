package scim_test

import "time"

const secondLimit = time.Second

func timeNow() time.Time { return time.Now() }
func sleep()             { time.Sleep(10 * time.Millisecond) }
