package apptest

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
)

// testImage is w×h pixels: the left half red, the right half blue, with a
// green stripe along the top row, so a crop can be told by its colours.
func testImage(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA{R: 220, A: 255}
			if x >= w/2 {
				c = color.NRGBA{B: 220, A: 255}
			}
			if y == 0 {
				c = color.NRGBA{G: 200, A: 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// PNG encodes a w×h test image as PNG.
func PNG(w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, testImage(w, h)); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// JPEG encodes a w×h test image as JPEG.
func JPEG(w, h int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testImage(w, h), &jpeg.Options{Quality: 90}); err != nil {
		panic(err)
	}
	return b.Bytes()
}
