; strings.nsh: every text the installer adds to NSIS' own, in English and
; Simplified Chinese. Included after the MUI_LANGUAGE lines (project.nsi).
; makensis reads this file as UTF-8 (/INPUTCHARSET UTF8 in scripts/dist.sh).

LangString STR_WIN10_REQUIRED ${LANG_ENGLISH}     "Preload Station needs Windows 10 or later (64-bit)."
LangString STR_WIN10_REQUIRED ${LANG_SIMPCHINESE} "预装工作站需要 Windows 10 或更高版本（64 位）。"
LangString STR_ARCH ${LANG_ENGLISH}     "Preload Station runs on 64-bit Intel/AMD Windows only."
LangString STR_ARCH ${LANG_SIMPCHINESE} "预装工作站只能在 64 位 Intel/AMD 的 Windows 上运行。"
LangString STR_WEBVIEW2 ${LANG_ENGLISH}     "Installing Microsoft Edge WebView2 Runtime (needs internet)..."
LangString STR_WEBVIEW2 ${LANG_SIMPCHINESE} "正在安装 Microsoft Edge WebView2 运行库（需要联网）……"

LangString STR_ADB_HEADER ${LANG_ENGLISH}     "Phones, ADB and USB drivers"
LangString STR_ADB_HEADER ${LANG_SIMPCHINESE} "手机、ADB 与 USB 驱动"
LangString STR_ADB_SUBHEADER ${LANG_ENGLISH}     "What the station needs to see your phones."
LangString STR_ADB_SUBHEADER ${LANG_SIMPCHINESE} "工作站识别手机所需的准备。"
LangString STR_ADB_TOP ${LANG_ENGLISH}     "Please read, then click Next."
LangString STR_ADB_TOP ${LANG_SIMPCHINESE} "请阅读以下说明，然后点击“下一步”。"

LangString STR_DRIVER_LINK ${LANG_ENGLISH}     "Get the Google USB driver and ADB platform-tools"
LangString STR_DRIVER_LINK ${LANG_SIMPCHINESE} "获取 Google USB 驱动和 ADB 平台工具（platform-tools）"
LangString STR_RUN ${LANG_ENGLISH}     "Start Preload Station"
LangString STR_RUN ${LANG_SIMPCHINESE} "启动预装工作站"

LangString STR_SEC_APP ${LANG_ENGLISH}     "Preload Station"
LangString STR_SEC_APP ${LANG_SIMPCHINESE} "预装工作站"
LangString STR_UN_PROGRAM ${LANG_ENGLISH}     "Program files and shortcuts"
LangString STR_UN_PROGRAM ${LANG_SIMPCHINESE} "程序文件和快捷方式"
LangString STR_UN_DATA ${LANG_ENGLISH}     "Remove my data (apps cache, records, settings)"
LangString STR_UN_DATA ${LANG_SIMPCHINESE} "删除我的数据（应用缓存、安装记录、设置）"
LangString STR_UN_TOP ${LANG_ENGLISH}     "Your data in %APPDATA%\PreloadStation is kept unless you tick 'Remove my data'."
LangString STR_UN_TOP ${LANG_SIMPCHINESE} "除非勾选“删除我的数据”，否则 %APPDATA%\PreloadStation 中的数据会被保留。"
