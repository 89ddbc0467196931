package dialect

// FanoutStreams returns how many streams the fan-out workers own.
func (c *Core) FanoutStreams() int64 {
	var n int64
	for _, w := range c.fanout().workers {
		n += w.load.Load()
	}
	return n
}
