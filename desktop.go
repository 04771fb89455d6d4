package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"
	"github.com/wailsapp/wails/v2/pkg/runtime"

	"preloadstation/backend/web"
	"preloadstation/backend/web/wailsemit"
)

// runDesktop opens the station window: `preload-station [--data DIR]`.
func runDesktop(ctx context.Context, args []string) error {
	fset := flag.NewFlagSet("preload-station", flag.ContinueOnError)
	data := fset.String("data", "", "data directory (default: $PRELOAD_DATA or the user config dir)/PreloadStation")
	if err := fset.Parse(args); err != nil {
		return errUsage
	}
	dir, err := resolveDataDir(*data)
	if err != nil {
		return err
	}
	assets, err := frontendAssets()
	if err != nil {
		return err
	}
	emit := &wailsemit.Emitter{}
	app, err := NewApp(ctx, appConfig{DataDir: dir, Emit: emit})
	if err != nil {
		return err
	}
	defer app.Close() // also closed by OnShutdown; Close is idempotent
	// The file picker, and a drop that carries no file path, give the page
	// File objects: their bytes come to POST /api/upload, as on `serve`.
	bridge, err := web.NewBridge(app.Services.Bindings()...)
	if err != nil {
		return err
	}

	// Ctrl-C / SIGTERM closes the window the way its close button does.
	windowCtx := make(chan context.Context, 1)
	stopWatch := make(chan struct{})
	defer close(stopWatch)
	go func() {
		select {
		case <-stopWatch:
		case <-ctx.Done():
			select {
			case wctx := <-windowCtx:
				runtime.Quit(wctx)
			case <-stopWatch:
			}
		}
	}()

	err = wails.Run(&options.App{
		Title:            "Preload Station",
		Width:            1440,
		Height:           900,
		MinWidth:         1280,
		MinHeight:        720,
		BackgroundColour: &options.RGBA{R: 248, G: 250, B: 252, A: 255},
		AssetServer:      &assetserver.Options{Assets: assets, Handler: web.UploadHandler(bridge, app.Log)},
		OnStartup: func(wctx context.Context) {
			emit.Start(wctx)
			windowCtx <- wctx
			app.Startup(wctx)
		},
		OnShutdown: func(wctx context.Context) {
			emit.Stop()
			app.Shutdown(wctx)
		},
		Bind:           app.Services.Bindings(),
		ErrorFormatter: web.FormatError,
		// File drops reach the frontend via OnFileDrop; the UI marks its drop zones.
		DragAndDrop: &options.DragAndDrop{EnableFileDrop: true, DisableWebViewDrop: false},
		Linux: &linux.Options{
			ProgramName:      "preload-station",
			WebviewGpuPolicy: linux.WebviewGpuPolicyOnDemand,
		},
	})
	if err != nil {
		return fmt.Errorf("window: %w", err)
	}
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "preload-station: stopped")
	}
	return nil
}
