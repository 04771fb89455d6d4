Unicode true
; Preload Station installer (NSIS 3, built on Linux by scripts/dist.sh with Debian's makensis).
; Based on Wails v2.11.0's project.nsi: same wails_tools.nsh macros (architecture check,
; WebView2 bootstrapper, uninstall registry key), plus an ADB/USB-driver info page,
; English + Simplified Chinese, and per-user data kept on uninstall unless asked.
;
; dist.sh passes:
;   -DINFO_PRODUCTVERSION=x.y.z         numeric version (Windows needs x.y.z.w)
;   -DINFO_VERSION_TEXT=<full version>  shown to people (may be 0.1.0-3-gabc)
;   -DARG_WAILS_AMD64_BINARY=<path>     the cross-built preload-station.exe
;   -DOUTFILE=<path>                    where to write the installer
; It stages this folder with ../icon.ico and tmp/MicrosoftEdgeWebview2Setup.exe
; (the bootstrapper shipped inside the Wails module), as `wails build --nsis` does.

!define INFO_PROJECTNAME   "preload-station"
!define INFO_COMPANYNAME   "Preload Station"
!define INFO_PRODUCTNAME   "Preload Station"
!define INFO_COPYRIGHT     "Copyright (c) Preload Station authors"
!define PRODUCT_EXECUTABLE "preload-station.exe"
!define UNINST_KEY_NAME    "PreloadStation"
; Per-user data folder, the app's default data dir on Windows (%APPDATA%\PreloadStation).
!define DATA_DIRNAME       "PreloadStation"

!ifndef INFO_PRODUCTVERSION
  !error "pass -DINFO_PRODUCTVERSION=x.y.z"
!endif
!ifndef INFO_VERSION_TEXT
  !define INFO_VERSION_TEXT "${INFO_PRODUCTVERSION}"
!endif
!ifndef OUTFILE
  !define OUTFILE "preload-station-setup.exe"
!endif

; Localised texts for the wails macros (resolved at run time from strings.nsh).
!define WAILS_WIN10_REQUIRED              "$(STR_WIN10_REQUIRED)"
!define WAILS_ARCHITECTURE_NOT_SUPPORTED  "$(STR_ARCH)"
!define WAILS_INSTALL_WEBVIEW_DETAILPRINT "$(STR_WEBVIEW2)"

!include "wails_tools.nsh"

VIProductVersion "${INFO_PRODUCTVERSION}.0"
VIFileVersion    "${INFO_PRODUCTVERSION}.0"
VIAddVersionKey /LANG=0 "CompanyName"     "${INFO_COMPANYNAME}"
VIAddVersionKey /LANG=0 "FileDescription" "${INFO_PRODUCTNAME} Installer"
VIAddVersionKey /LANG=0 "ProductVersion"  "${INFO_VERSION_TEXT}"
VIAddVersionKey /LANG=0 "FileVersion"     "${INFO_VERSION_TEXT}"
VIAddVersionKey /LANG=0 "LegalCopyright"  "${INFO_COPYRIGHT}"
VIAddVersionKey /LANG=0 "ProductName"     "${INFO_PRODUCTNAME}"

ManifestDPIAware true
SetCompressor /SOLID lzma

!include "MUI2.nsh"

!define MUI_ICON   "..\icon.ico"
!define MUI_UNICON "..\icon.ico"
!define MUI_ABORTWARNING
!define MUI_COMPONENTSPAGE_NODESC

; ---- install pages
!insertmacro MUI_PAGE_WELCOME
; The "license" page is used as a read-only info page: ADB, USB drivers, phones.
!define MUI_PAGE_HEADER_TEXT       "$(STR_ADB_HEADER)"
!define MUI_PAGE_HEADER_SUBTEXT    "$(STR_ADB_SUBHEADER)"
!define MUI_LICENSEPAGE_TEXT_TOP   "$(STR_ADB_TOP)"
!define MUI_LICENSEPAGE_TEXT_BOTTOM " "
!define MUI_LICENSEPAGE_BUTTON     "$(^NextBtn)"
!insertmacro MUI_PAGE_LICENSE "$(ADB_INFO)"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!define MUI_FINISHPAGE_RUN           "$INSTDIR\${PRODUCT_EXECUTABLE}"
!define MUI_FINISHPAGE_RUN_TEXT      "$(STR_RUN)"
!define MUI_FINISHPAGE_LINK          "$(STR_DRIVER_LINK)"
!define MUI_FINISHPAGE_LINK_LOCATION "https://developer.android.com/studio/run/win-usb"
!insertmacro MUI_PAGE_FINISH

; ---- uninstall pages: the components page carries the "Remove my data" box.
!insertmacro MUI_UNPAGE_CONFIRM
!define MUI_COMPONENTSPAGE_TEXT_TOP "$(STR_UN_TOP)"
!insertmacro MUI_UNPAGE_COMPONENTS
!insertmacro MUI_UNPAGE_INSTFILES

; NSIS picks the language matching Windows' UI language; English otherwise.
!insertmacro MUI_LANGUAGE "English"
!insertmacro MUI_LANGUAGE "SimpChinese"
!include "strings.nsh"
LicenseLangString ADB_INFO ${LANG_ENGLISH}     "adb-usb-en.txt"
LicenseLangString ADB_INFO ${LANG_SIMPCHINESE} "adb-usb-zh.txt"

Name "${INFO_PRODUCTNAME} ${INFO_VERSION_TEXT}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\${INFO_PRODUCTNAME}"
InstallDirRegKey HKLM "${UNINST_KEY}" "InstallLocation"
ShowInstDetails show
ShowUninstDetails show

Function .onInit
  !insertmacro wails.checkArchitecture
  SetRegView 64
FunctionEnd

Section "!$(STR_SEC_APP)" SecApp
  SectionIn RO
  !insertmacro wails.setShellContext
  !insertmacro wails.webview2runtime

  SetOutPath $INSTDIR
  !insertmacro wails.files

  CreateShortcut "$SMPROGRAMS\${INFO_PRODUCTNAME}.lnk" "$INSTDIR\${PRODUCT_EXECUTABLE}"
  CreateShortcut "$DESKTOP\${INFO_PRODUCTNAME}.lnk"    "$INSTDIR\${PRODUCT_EXECUTABLE}"

  !insertmacro wails.writeUninstaller
  WriteRegStr HKLM "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
SectionEnd

; Program files go; the folder itself only if it is then empty (never RMDir /r on a
; folder the user may have picked, such as C:\Tools).
Section "!un.$(STR_UN_PROGRAM)" UnSecApp
  SectionIn RO
  !insertmacro wails.setShellContext
  Delete "$INSTDIR\${PRODUCT_EXECUTABLE}"
  Delete "$SMPROGRAMS\${INFO_PRODUCTNAME}.lnk"
  Delete "$DESKTOP\${INFO_PRODUCTNAME}.lnk"
  !insertmacro wails.deleteUninstaller
  RMDir "$INSTDIR"
SectionEnd

; Unticked by default (/o), so silent uninstalls (/S) keep the data too.
; Data is per user: switch to the current user's %APPDATA% (the admin context
; above points $APPDATA at ProgramData).
Section /o "un.$(STR_UN_DATA)" UnSecData
  SetShellVarContext current
  RMDir /r "$APPDATA\${DATA_DIRNAME}"
  ; WebView2 profile Wails keeps beside it (%APPDATA%\preload-station.exe).
  RMDir /r "$APPDATA\${PRODUCT_EXECUTABLE}"
SectionEnd
